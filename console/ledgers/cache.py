"""Parsed ledgers kept between the preview and the save of an import, so a file is parsed once.

Keyed by (the file's SHA-256, the chosen sheet); bounded by entry count, total rows and age. Per process: a save that
lands on another worker, or after expiry, simply parses the file again (same result)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

MAX_ENTRIES = 4
MAX_ROWS = 120_000  # about 250 MB of parsed cells at most
TTL_S = 30 * 60


def file_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LedgerCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_rows: int = MAX_ROWS, ttl_s: float = TTL_S):
        self.max_entries, self.max_rows, self.ttl_s = max_entries, max_rows, ttl_s
        self._items: OrderedDict[tuple, tuple[float, int, object]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple):
        with self._lock:
            item = self._items.get(key)
            if item is None or time.monotonic() - item[0] > self.ttl_s:
                self._items.pop(key, None)
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[2]

    def put(self, key: tuple, value, rows: int) -> None:
        with self._lock:
            self._items.pop(key, None)
            if rows > self.max_rows:
                return
            self._items[key] = (time.monotonic(), rows, value)
            while len(self._items) > self.max_entries or sum(r for _, r, _ in self._items.values()) > self.max_rows:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


PARSED = LedgerCache()
