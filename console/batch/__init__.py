"""Batch jobs over the whole city on Dask (docs/scale.md): re-assigning every located record after a boundary
change (`reassign`), the data-quality cube (`quality`) and the assessment roll-ups (`assessment`).

Each job splits the records by county (`parts.py`), runs one pure task per partition on a Dask cluster (a
LocalCluster of processes by default, or an external scheduler by address) and merges the results in the
client; the only write, re-assignment's, happens once at the end in one transaction. A task killed with its
worker is simply run again elsewhere: tasks read and compute, they never write. Without a cluster the same
tasks run one after another in this process (the in-process path the tests compare against).

    python -m console.batch reassign|quality|assessment --db DB [--dask tcp://host:8786] [--workers 2]
"""
