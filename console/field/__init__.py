"""The 网格员 phone app's server side (docs/field.md): records synced idempotently by a phone-made UUID with
versions and kept conflicts, photos uploaded in resumable chunks, the worker's grid data (masked)."""
