"""Column mapping: headers a file writes its own way, assigned by the clerk to the kind's fields. Pure."""

from __future__ import annotations

from dataclasses import replace

from console.ledgers.reader import LedgerSpec, normalize_header


def with_mapping(spec: LedgerSpec, mapping: dict[str, str]) -> LedgerSpec:
    """The spec with each mapped header added to its field's spellings. Unknown fields and empty choices are
    ignored; a header mapped to a field keeps every spelling the field already had."""
    extra: dict[str, list[str]] = {}
    fields = {c.field for c in spec.columns}
    for header, field in mapping.items():
        if field in fields and header:
            extra.setdefault(field, []).append(normalize_header(header))
    return replace(spec, columns=tuple(replace(c, aliases=(*c.aliases, *extra.get(c.field, ())))
                                       for c in spec.columns))


def unmapped_fields(spec: LedgerSpec, found: dict[str, str]) -> list[tuple[str, str, bool]]:
    """(field, header, required) of the kind's columns the file has not supplied, required first."""
    missing = [c for c in spec.columns if c.field not in found]
    return [(c.field, c.header, c.required) for c in sorted(missing, key=lambda c: not c.required)]


def relaxed(spec: LedgerSpec) -> LedgerSpec:
    """The spec with nothing required: read a file whose required columns are still to be mapped by the clerk."""
    return replace(spec, columns=tuple(replace(c, required=False) for c in spec.columns))


def missing_required(spec: LedgerSpec, found: dict[str, str]) -> list[str]:
    return [c.header for c in spec.columns if c.required and c.field not in found]
