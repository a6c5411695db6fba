"""Ledger (台账) files: one reader for every ledger import (disputes now; persons, households, organisations
later). See docs/disputes.md, "Importing a ledger"."""
