"""The ingest hot path's SQL, on a plain DB-API cursor (SQLite or PostgreSQL).

Building, caching and compiling SQLAlchemy statements cost ~10× more CPU than SQLite spends running them
(profiled: ~80 % of an ingest was SQLAlchemy overhead), so the group-commit writer runs these fixed statements
directly. They are written once with `:name` parameters and rewritten for the driver's paramstyle. Times are
stored exactly as SQLAlchemy stores them (SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' text), so ORM readers and
string comparisons in SQL agree.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from console.store.dialect import serialise_writers

_NAMED = re.compile(r"(?<!:):([a-z_]+)")


def ts_sqlite(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(" ", "microseconds")  # = SQLAlchemy's format, ~5× cheaper than strftime


def parse_ts(value) -> datetime | None:
    """A stored time back to a naive datetime (SQLite gives text, PostgreSQL a datetime)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class Raw:
    """Fixed statements on one DB-API connection. `dialect` is SQLAlchemy's dialect name."""

    def __init__(self, dbapi_connection, dialect: str):
        self.conn = dbapi_connection
        self.dialect = dialect
        self.sqlite = dialect == "sqlite"
        self.ts = ts_sqlite if self.sqlite else (lambda t: t)
        self._sql: dict[str, str] = {}
        self._keys: dict[tuple[str, str], bool] = {}  # source keys checked in the current transaction

    def _q(self, sql: str) -> str:
        out = self._sql.get(sql)
        if out is None:
            out = sql if self.sqlite else _NAMED.sub(r"%(\1)s", sql)
            self._sql[sql] = out
        return out

    def run(self, sql: str, params: dict | None = None):
        cur = self.conn.cursor()
        cur.execute(self._q(sql), params or {})
        return cur

    def one(self, sql: str, params: dict | None = None):
        rows = self.run(sql, params).fetchall()
        return rows[0] if rows else None

    # -- transactions (the writer's own connection) ------------------------------------------------
    def begin(self) -> None:
        """Take the writers' lock now, so the counts and dedup checks in the batch are serialised with every other
        duty writer, in this process or another (SQLite: the database write lock; PostgreSQL: an advisory lock)."""
        self._keys.clear()
        cur = self.conn.cursor()
        serialise_writers(cur, self.dialect)
        cur.close()

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    # -- source keys -------------------------------------------------------------------------------
    def key_current(self, prefix: str, key_hash: str) -> bool:
        """Is this the enabled source's stored key hash now? Asked once per transaction and key (`begin` forgets):
        inside the writers' lock, so a rotation or a disabling committed before this batch is seen."""
        hit = self._keys.get((prefix, key_hash))
        if hit is None:
            row = self.one("SELECT key_hash FROM duty_source WHERE prefix = :p AND enabled", {"p": prefix})
            hit = self._keys[(prefix, key_hash)] = row is not None and row[0] == key_hash
        return hit

    # -- events ------------------------------------------------------------------------------------
    def insert_event(self, source: str, ev: dict, camera_pk, now: datetime) -> int | None:
        """The new event's id, or None when (source, source_event_id) is already stored."""
        a = ev["areas"]
        row = self.one(
            "INSERT INTO event (source, source_event_id, kind, occurred_at, received_at, person_id, camera_id,"
            " payload, lon, lat, county_code, town_code, village_code, grid_code)"
            " VALUES (:source, :sid, :kind, :occurred, :received, :person, :camera, :payload, :lon, :lat,"
            " :county, :town, :village, :grid)"
            " ON CONFLICT (source, source_event_id) DO NOTHING RETURNING id",
            {"source": source, "sid": ev["event_id"], "kind": ev["kind"], "occurred": self.ts(ev["occurred_at"]),
             "received": self.ts(now), "person": ev["person_id"], "camera": camera_pk,
             "payload": ev["payload_text"], "lon": ev["lon"], "lat": ev["lat"], "county": a.get("county"),
             "town": a.get("town"), "village": a.get("village"), "grid": a.get("grid")})
        return None if row is None else row[0]

    def stored_event(self, source: str, event_id: str):
        """(id, kind, payload, occurred_at, person_id, camera_id, lon, lat, grid_code) of a stored event, or None."""
        return self.one("SELECT id, kind, payload, occurred_at, person_id, camera_id, lon, lat, grid_code FROM event"
                        " WHERE source = :source AND source_event_id = :sid", {"source": source, "sid": event_id})

    def alerts_of(self, event_pk: int) -> list[int]:
        return [r[0] for r in self.run("SELECT id FROM alert WHERE event_id = :e ORDER BY id", {"e": event_pk})]

    def grid_count(self, grid: str, kind: str, after: datetime, upto: datetime) -> int:
        return self.one("SELECT count(*) FROM event WHERE grid_code = :g AND kind = :k AND occurred_at > :a"
                        " AND occurred_at <= :b",
                        {"g": grid, "k": kind, "a": self.ts(after), "b": self.ts(upto)})[0]

    # -- cameras -----------------------------------------------------------------------------------
    def camera(self, pk: int) -> dict | None:
        row = self.one("SELECT id, name, lon, lat, last_heartbeat FROM camera WHERE id = :id", {"id": pk})
        if row is None:
            return None
        seen = parse_ts(row[4])
        return {"id": row[0], "name": row[1], "lon": row[2], "lat": row[3],
                "last_seen": seen.isoformat(timespec="seconds") if seen else ""}

    def heartbeat(self, pk: int, online: bool, at: datetime) -> None:
        if online:
            self.run("UPDATE camera SET status = 'online', last_heartbeat = :t WHERE id = :id",
                     {"t": self.ts(at), "id": pk})
        else:
            self.run("UPDATE camera SET status = 'offline' WHERE id = :id", {"id": pk})

    # -- alerts ------------------------------------------------------------------------------------
    def raise_alert(self, spec, now: datetime, ack_due: datetime, note: str, *, event_id=None, lon=None,
                    lat=None, areas=None, person_id=None, camera_id=None, dispute_id=None) -> int | None:
        """Alert + info + history + change rows; the alert id, or None when its dedup key was already raised."""
        if spec.dedup_key and self.one("SELECT alert_id FROM alert_info WHERE dedup_key = :k",
                                       {"k": spec.dedup_key}) is not None:
            return None
        a = areas or {}
        t = self.ts(now)
        alert_id = self.one(
            "INSERT INTO alert (event_id, rule, kind, severity, state, title, raised_at, updated_at, lon, lat,"
            " county_code, town_code, village_code, grid_code) VALUES (:event, :rule, :kind, :sev, 'new', :title,"
            " :t, :t, :lon, :lat, :county, :town, :village, :grid) RETURNING id",
            {"event": event_id, "rule": spec.rule, "kind": spec.kind, "sev": spec.severity,
             "title": spec.title[:128], "t": t, "lon": lon, "lat": lat, "county": a.get("county"),
             "town": a.get("town"), "village": a.get("village"), "grid": a.get("grid")})[0]
        self.run("INSERT INTO alert_info (alert_id, dedup_key, person_id, camera_id, dispute_id, detail, ack_due_at)"
                 " VALUES (:a, :k, :p, :c, :d, :detail, :due)",
                 {"a": alert_id, "k": spec.dedup_key, "p": person_id, "c": camera_id, "d": dispute_id,
                  "detail": json.dumps(spec.detail, ensure_ascii=False), "due": self.ts(ack_due)})
        self.run("INSERT INTO alert_history (alert_id, at, actor, action, from_state, to_state, note)"
                 " VALUES (:a, :t, 'system', 'raise', NULL, 'new', :note)", {"a": alert_id, "t": t, "note": note})
        self.run("INSERT INTO alert_change (alert_id, at) VALUES (:a, :t)", {"a": alert_id, "t": t})
        return alert_id
