"""The command-hall wall's read-only figures from a streaming replica (docs/deploy.md § Replica and 数据截至).

With `PINGAN_REPLICA_URL` set, the wall (the /hall banner and panels, including the KPI cube behind them) reads
the replica; everything else reads and writes the primary. How current the replica is comes from the replica
itself (`LAG_SQL`): caught up with a streaming WAL receiver → current; otherwise its data is as of the last
transaction it replayed (`pg_last_xact_replay_timestamp()`), and the wall says 「数据截至 HH:MM:SS」 with that
time. A replica further behind than `PINGAN_REPLICA_MAX_LAG` seconds (default 60), or one that cannot be reached,
is not used: the wall reads the primary (current) and says why. The check is cached for a few seconds per node.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import text

from console.services.context import AppContext, TTLCache
from console.store import make_engine, make_session_factory

log = logging.getLogger(__name__)
DEFAULT_MAX_LAG_S = 60.0
CHECK_SECONDS = 5.0  # how long one lag reading is trusted
DOWN_RETRY_SECONDS = 15.0  # an unreachable replica is asked again after this long (its connect timeout is short)
LAG_SQL = ("SELECT pg_is_in_recovery(), now(), pg_last_xact_replay_timestamp(),"
           " pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),"
           " (SELECT status FROM pg_stat_wal_receiver LIMIT 1)")


@dataclass(frozen=True)
class ReadState:
    source: str  # "replica" or "primary": where the wall's figures come from
    as_of: datetime | None  # naive UTC of the data when older than now; None: current
    reason: str = ""  # "" | "lagging" (replica within the limit) | "too_far_behind" | "down" (read the primary)
    lag_s: float = 0.0

    def note(self) -> str:
        """A short Chinese note for the wall ('' when there is nothing to say)."""
        if self.reason == "lagging":
            return f"备库延迟约 {round(self.lag_s)} 秒"
        if self.reason == "too_far_behind":
            if self.lag_s == float("inf"):  # nothing replayed since the replica started: its age is unknown
                return "备库尚未回放数据，已改读主库"
            return f"备库延迟 {round(self.lag_s)} 秒，已改读主库"
        if self.reason == "down":
            return "备库不可用，已改读主库"
        return ""


PRIMARY = ReadState("primary", None)


def _naive_utc(t: datetime | None) -> datetime | None:
    if t is None or t.tzinfo is None:
        return t
    return t.astimezone(timezone.utc).replace(tzinfo=None)


def judge(in_recovery: bool, now: datetime, replayed_at: datetime | None, caught_up: bool, receiver: str | None,
          max_lag_s: float) -> ReadState:
    """Where to read, from one `LAG_SQL` row (times naive UTC)."""
    if not in_recovery:  # promoted, or not a standby at all: what it holds is current
        return ReadState("replica", None)
    if caught_up and receiver == "streaming":  # nothing received that is not applied, and still following
        return ReadState("replica", None)
    if replayed_at is None:  # nothing replayed since it started: its age is unknown
        return ReadState("primary", None, "too_far_behind", float("inf"))
    lag = max(0.0, (now - replayed_at).total_seconds())
    if lag > max_lag_s:
        return ReadState("primary", None, "too_far_behind", lag)
    return ReadState("replica", replayed_at, "lagging" if lag >= 1 else "", lag)


class WallReader:
    """The replica's engine and a reading context for it (its own KPI cache: figures from the replica never
    reach the console pages that read the primary)."""

    def __init__(self, ctx: AppContext, url: str, max_lag_s: float = DEFAULT_MAX_LAG_S):
        self.primary, self.max_lag_s = ctx, max_lag_s
        self.engine = make_engine(url, connect_args={"connect_timeout": 3}, pool_pre_ping=True)
        self.context = AppContext(engine=self.engine, sessions=make_session_factory(self.engine),
                                  settings=ctx.settings, kpi_cache=TTLCache(256, min(60, ctx.settings.kpi_cache_seconds)),
                                  geo_cache=TTLCache(64, 60), server=ctx.server)
        self._state, self._checked = PRIMARY, float("-inf")
        self._lock = threading.Lock()

    def state(self) -> ReadState:
        with self._lock:
            age = time.monotonic() - self._checked
            if age < (DOWN_RETRY_SECONDS if self._state.reason == "down" else CHECK_SECONDS):
                return self._state
            self._state, self._checked = self._read_state(), time.monotonic()
            return self._state

    def _read_state(self) -> ReadState:
        try:
            with self.engine.connect() as conn:
                in_recovery, now, replayed, caught_up, receiver = conn.execute(text(LAG_SQL)).one()
        except Exception as exc:  # noqa: BLE001 - any failure to ask the replica means: read the primary
            if self._state.reason != "down":
                log.warning("wall replica unreachable, reading the primary: %s", str(exc).splitlines()[0][:200])
            return ReadState("primary", None, "down")
        state = judge(bool(in_recovery), _naive_utc(now), _naive_utc(replayed), bool(caught_up), receiver,
                      self.max_lag_s)
        if state.source == "primary":
            log.warning("wall replica %.0f s behind (limit %.0f s), reading the primary", state.lag_s, self.max_lag_s)
        return state


def wall_read(ctx: AppContext) -> tuple[AppContext, ReadState]:
    """(the context to read the wall's figures with, where they come from and how old they are)."""
    reader: WallReader | None = getattr(ctx, "wall_reader", None)
    if reader is None:
        return ctx, PRIMARY
    state = reader.state()
    return (reader.context if state.source == "replica" else ctx), state


def install(ctx: AppContext, url: str | None, max_lag_s: float = DEFAULT_MAX_LAG_S) -> None:
    """Give the console its wall reader (nothing when `url` is empty)."""
    ctx.wall_reader = WallReader(ctx, url, max_lag_s) if url else None


def as_of_time(state: ReadState, now: datetime) -> datetime:
    """The time to show after 「数据截至」 (naive UTC)."""
    return now if state.as_of is None else min(state.as_of, now)
