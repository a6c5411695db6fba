"""矛盾纠纷 domain: workflow (state machine), routing, deadlines, duplicates, case codes, Excel, statistics.

Pure functions except `service.py` (transactions) — no Dash imports here.
"""
