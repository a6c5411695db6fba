"""Column-mapping templates per source (docs/import.md, "Mapping templates"): the mapping a clerk made for a file
whose columns are headed its own way is kept for the source — the file's header signature, the ledger kind and the
importing account's area — and applied to the next file of that source, so it imports without questions.

The matching is pure (`signature`, `best_match`); the store functions read and write `import_template`, every
change audited."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from console.ledgers.reader import Ledger, normalize_header
from console.security import audit
from console.store import AreaScope
from console.store.import_models import ImportTemplate


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    kind: str
    area: str
    signature: str
    headers: tuple[str, ...]
    mapping: dict[str, str]  # header as written → field
    used_at: datetime | None = None


# -- pure ----------------------------------------------------------------------------------------------------
def file_headers(ledger: Ledger) -> list[str]:
    """Every header of the file's header row, as written: the ones the kind knows and the ignored ones."""
    return list(dict.fromkeys([*ledger.columns.values(), *ledger.ignored]))


def signature(headers) -> str:
    """The source's header signature: BLAKE2b of its normalised headers, sorted (column order, spaces, full-width
    forms and a trailing note in brackets do not change it)."""
    names = sorted({normalize_header(h) for h in headers} - {""})
    return hashlib.blake2b("\x1f".join(names).encode(), digest_size=16).hexdigest()


def area_key(scope: AreaScope) -> str:
    return "610900" if scope.is_city else ",".join(sorted(scope.codes))


def best_match(templates, kind: str, area: str, headers) -> Template | None:
    """The template for this file: same kind and area, and the same header signature; failing that, the template
    whose mapped headers the file all has (a source that added a column), the one mapping most headers; ties go
    to the most recently used."""
    mine = [t for t in templates if t.kind == kind and t.area == area]
    if not mine:
        return None
    sig = signature(headers)
    recent = (lambda t: (t.used_at or datetime.min, t.id))
    exact = [t for t in mine if t.signature == sig]
    if exact:
        return max(exact, key=recent)
    present = {normalize_header(h) for h in headers}
    covering = [t for t in mine if t.mapping and {normalize_header(h) for h in t.mapping} <= present]
    if not covering:
        return None
    return max(covering, key=lambda t: (len(t.mapping), *recent(t)))


def default_name(kind_label: str, filename: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "台账"
    return f"{stem}（{kind_label}）"[:56]


# -- the store -----------------------------------------------------------------------------------------------
def _of(row: ImportTemplate) -> Template:
    return Template(row.id, row.name, row.kind, row.area, row.signature, tuple(json.loads(row.headers)),
                    json.loads(row.mapping), row.used_at)


def templates_for(session, kind: str, area: str) -> list[Template]:
    rows = session.scalars(select(ImportTemplate).where(ImportTemplate.kind == kind, ImportTemplate.area == area)
                           .order_by(ImportTemplate.id))
    return [_of(r) for r in rows]


def by_name(session, name: str) -> Template | None:
    row = session.scalar(select(ImportTemplate).where(ImportTemplate.name == name))
    return _of(row) if row else None


def find(session, kind: str, scope: AreaScope, headers) -> Template | None:
    return best_match(templates_for(session, kind, area_key(scope)), kind, area_key(scope), headers)


def mark_used(session, template_id: int, now: datetime | None = None) -> None:
    session.execute(update(ImportTemplate).where(ImportTemplate.id == template_id)
                    .values(used_at=now or datetime.now()))


def save(session, *, kind: str, scope: AreaScope, headers, mapping: dict[str, str], actor: str, name: str,
         now: datetime | None = None) -> Template:
    """Keep the mapping for this source (kind, area, signature): a new template, or the source's template changed.
    Audited (`import_template`). The caller commits."""
    now = now or datetime.now()
    area, sig = area_key(scope), signature(headers)
    row = session.scalar(select(ImportTemplate).where(ImportTemplate.kind == kind, ImportTemplate.area == area,
                                                      ImportTemplate.signature == sig))
    from .kinds import KINDS  # only the kind's own fields are kept (the mapping comes back from a browser)

    fields = {c.field for c in KINDS[kind].spec.columns}
    clean = {str(h)[:64]: f for h, f in mapping.items() if h and f in fields}
    name = name[:56]
    if row is None:
        taken = set(session.scalars(select(ImportTemplate.name).where(ImportTemplate.name.like(name[:50] + "%"))))
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name[:50]}（{n}）", n + 1
        row = ImportTemplate(name=unique, kind=kind, area=area, signature=sig, created_by=actor, created_at=now)
        session.add(row)
        action = "新建"
    else:
        action = "修改"
    row.headers = json.dumps(list(dict.fromkeys(headers)), ensure_ascii=False)
    row.mapping = json.dumps(clean, ensure_ascii=False, sort_keys=True)
    row.used_at = now
    session.flush()
    audit.append(session, actor, "import_template", object=row.name, detail={
        "action": action, "kind": kind, "area": area, "signature": sig, "mapping": clean})
    return _of(row)


def remove(session, template_id: int, *, scope: AreaScope, actor: str) -> bool:
    """Delete a template of the account's own area (audited); False when there is none such."""
    row = session.get(ImportTemplate, template_id)
    if row is None or row.area != area_key(scope):
        return False
    audit.append(session, actor, "import_template", object=row.name, detail={
        "action": "删除", "kind": row.kind, "area": row.area, "signature": row.signature})
    session.execute(delete(ImportTemplate).where(ImportTemplate.id == template_id))
    return True
