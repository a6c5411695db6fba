"""The per-app context (engine, sessions, settings, caches), kept on the Flask app's config."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from console.config import Settings

CONTEXT_KEY = "PINGAN_CONTEXT"


class TTLCache:
    """A small thread-safe LRU with a time limit per entry."""

    def __init__(self, maxsize: int = 512, ttl: float = 300.0):
        self.maxsize, self.ttl = maxsize, ttl
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_set(self, key: Any, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and now - hit[0] < self.ttl:
                self._data.move_to_end(key)
                return hit[1]
        value = compute()
        with self._lock:
            self._data[key] = (now, value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def drop(self, key: Any) -> None:
        with self._lock:
            self._data.pop(key, None)


@dataclass
class AppContext:
    engine: Engine
    sessions: sessionmaker[Session]
    settings: Settings
    kpi_cache: TTLCache = field(default_factory=lambda: TTLCache(1024, 300))
    geo_cache: TTLCache = field(default_factory=lambda: TTLCache(2048, 300))
    server: Any = None  # the Flask app, for work done outside a request (cache warm-up)

    def session(self) -> Session:
        return self.sessions()


def current_context() -> AppContext:
    from flask import current_app

    return current_app.config[CONTEXT_KEY]
