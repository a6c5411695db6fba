"""数据交换: every ledger kind exported in one documented package for the provincial platform, and the same package
imported again. The package *is* the ledger format: one UTF-8 CSV per kind whose headers are the kind's canonical
headers (console/ledger_import/kinds.py), so importing it runs the one import pipeline (validation, natural keys,
idempotency, audit). See docs/exchange.md."""

from .package import FORMAT, VERSION, ExchangeError, export_package, import_package, read_manifest

__all__ = ["FORMAT", "VERSION", "ExchangeError", "export_package", "import_package", "read_manifest"]
