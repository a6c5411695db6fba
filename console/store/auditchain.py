"""How an audit row is chained: the one definition shared by the audit log (console.security.audit) and the
migration that re-keyed existing chains (0007). docs/security.md §3.

``hash = HMAC-SHA256(k, prev_hash ‖ "\\n" ‖ canonical JSON of the row)`` with ``k`` derived from the data key
(kept outside the database, `crypto.KeyRing`): whoever can write the database file cannot recompute the chain
after deleting or editing rows. Verification accepts a tag under any key of the ring (mid-rotation).
Without a key ring (never in a running console, which refuses to start without one) the chain is plain SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from . import crypto

GENESIS = "0" * 64
FIELDS = ("id", "at", "actor", "roles", "ip", "action", "object", "result", "detail")
ALGORITHM = "hmac-sha256(audit-key, prev_hash\\ncanonical_json)"
LEGACY_ALGORITHM = "sha256(prev_hash\\ncanonical_json)"


def canonical(row: dict) -> bytes:
    values = []
    for name in FIELDS:
        value = row[name]
        if isinstance(value, datetime):
            value = value.isoformat(timespec="microseconds")
        values.append(value)
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def chain_keys(ring: crypto.KeyRing | None = None) -> list[bytes]:
    """The audit keys (current first) derived from the data keys; [] without a key ring."""
    ring = ring if ring is not None else crypto.active_keyring()
    if ring is None:
        return []
    return [hmac.new(k, b"pingan-audit-chain", hashlib.sha256).digest() for k in ring.keys]


def chain_hash(prev_hash: str, row: dict, key: bytes | None) -> str:
    message = prev_hash.encode("ascii") + b"\n" + canonical(row)
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def matches(prev_hash: str, row: dict, digest: str, keys: list[bytes]) -> bool:
    """Does `digest` chain `row` onto `prev_hash` under one of `keys` (plain SHA-256 when there are none)?"""
    return any(hmac.compare_digest(chain_hash(prev_hash, row, k), digest) for k in (keys or [None]))
