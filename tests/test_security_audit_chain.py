"""The audit chain against someone who can write the database (docs/security.md §3): rows cannot be deleted
through SQL, and a chain rebuilt after deleting rows (every hash and the head recomputed) does not verify,
because the chain is keyed with a secret kept outside the database."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

import sectest as testing
from console.security.audit import Auditor, verify
from console.store import make_engine, make_session_factory, upgrade_schema


def _chain(path: str, n: int = 6) -> None:
    engine = make_engine(path)
    factory = make_session_factory(engine)
    auditor = Auditor(factory, testing.Clock())
    for i in range(n):
        auditor.record(f"user{i % 2}", "record.view", object=f"person:{i}", detail={"i": i})
    engine.dispose()


def _verify(path: str):
    engine = make_engine(path, must_exist=True)
    with make_session_factory(engine)() as s:
        result = verify(s)
    engine.dispose()
    return result


def test_sql_delete_of_an_audit_row_is_refused(tmp_path):
    path = testing.migrated_db(tmp_path)
    _chain(path)
    con = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError):
        con.execute("DELETE FROM audit_log WHERE id = 3")
    con.close()
    assert _verify(path).ok


def _rebuild_without_row(path: str, gone: int) -> None:
    """The attack: drop the guards, delete a row, recompute every later hash and the head (plain SHA-256,
    the formula the chain used to have)."""
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    con.execute("DELETE FROM audit_log WHERE id = ?", (gone,))
    rows = con.execute("SELECT id, at, actor, roles, ip, action, object, result, detail FROM audit_log "
                       "ORDER BY id").fetchall()
    con.execute("DELETE FROM audit_log")
    prev = "0" * 64
    for new_id, row in enumerate(rows, start=1):
        values = [new_id, row[1].replace(" ", "T") if "T" not in row[1] else row[1], *row[2:]]
        digest = hashlib.sha256(prev.encode() + b"\n" + json.dumps(values, ensure_ascii=False,
                                                                    separators=(",", ":")).encode()).hexdigest()
        con.execute("INSERT INTO audit_log (id, at, actor, roles, ip, action, object, result, detail, prev_hash, hash)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)", (new_id, row[1], *row[2:], prev, digest))
        prev = digest
    con.execute("UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1", (len(rows), prev))
    con.commit()
    con.close()


def test_a_chain_rebuilt_after_deleting_rows_does_not_verify(tmp_path):
    path = testing.migrated_db(tmp_path)
    _chain(path)
    _rebuild_without_row(path, 3)
    result = _verify(path)
    assert not result.ok


def test_a_cut_tail_is_reported(tmp_path):
    path = testing.migrated_db(tmp_path)
    _chain(path)
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    con.execute("DELETE FROM audit_log WHERE id >= 5")
    con.commit()
    con.close()
    result = _verify(path)
    assert not result.ok and "链尾" in result.reason


def test_upgrading_rechains_existing_rows_under_the_key(tmp_path, monkeypatch):
    """A database written before the key (plain SHA-256 rows) is re-chained by the upgrade and verifies."""
    from alembic import command

    from console.store.schema import alembic_config

    path = str(tmp_path / "old.sqlite")
    engine = make_engine(path)
    command.upgrade(alembic_config(engine), "0006")
    engine.dispose()
    import console.security.audit as audit_module

    with monkeypatch.context() as m:
        m.setattr(audit_module, "chain_keys", lambda *a: [])  # written as the old code did: no key
        _chain(path, 4)
    engine = make_engine(path)
    upgrade_schema(engine)
    engine.dispose()
    assert _verify(path).ok
