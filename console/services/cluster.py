"""Several console nodes on one PostgreSQL (docs/deploy.md): a cache invalidation on one node reaches every node.

`publish(ctx, kind)` sends `NOTIFY pingan_cache` with "<node>:<kind>" (inside the database, so it needs no other
service); every node's listener thread (`start`) runs its local handler for that kind. On SQLite (one machine,
one process or `--workers` on one file) there is nothing to publish: the caches' time limit does the rest.
The listener reconnects after a lost connection and then drops every cache, since it may have missed a message.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Callable

from sqlalchemy import text

from console.store import spatial

CHANNEL = "pingan_cache"
RETRY_SECONDS = 2.0
REPEAT_EVERY = 30  # failed reconnections between two log lines of one outage (a minute at RETRY_SECONDS)
log = logging.getLogger(__name__)


def node_id(ctx) -> str:
    nid = getattr(ctx, "node_id", None)
    if nid is None:
        nid = ctx.node_id = uuid.uuid4().hex[:12]
    return nid


def shared(ctx) -> bool:
    return ctx.engine.dialect.name == "postgresql"


def publish(ctx, kind: str) -> None:
    """Tell the other nodes (never fails the caller: their caches also expire by time)."""
    if not shared(ctx):
        return
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                         {"channel": CHANNEL, "payload": f"{node_id(ctx)}:{kind}"})
            conn.commit()
    except Exception:  # noqa: BLE001
        log.exception("缓存失效通知发送失败（%s）", kind)


def status(ctx) -> dict:
    """What this node uses, for the log and GET /api/status."""
    kind = spatial.backend(ctx.engine)
    return {"node": node_id(ctx), "database": ctx.engine.dialect.name, "spatial": kind,
            "spatial_label": spatial.describe(kind), "srid": spatial.SRID if kind == "postgis" else None,
            "cache_sync": "listen_notify" if shared(ctx) else "local",
            "listening": bool(getattr(ctx, "listening", None) and ctx.listening.is_set())}


def start(ctx, handlers: dict[str, Callable[[], None]], drop_all: Callable[[], None]) -> threading.Thread | None:
    """Log what this node uses; on PostgreSQL, listen for the other nodes' invalidations."""
    info = status(ctx)
    log.warning("控制台节点 %s：数据库 %s；空间数据：%s；缓存同步：%s", info["node"], info["database"],
                info["spatial_label"], "LISTEN/NOTIFY" if shared(ctx) else "本进程")
    if not shared(ctx):
        return None
    ctx.listening = threading.Event()
    me = node_id(ctx)

    def run():
        missed, failures = False, 0
        while True:
            try:
                raw = ctx.engine.raw_connection()
                conn = raw.driver_connection  # psycopg's own connection (notifies())
                raw.detach()  # held for the process's life, not the pool's
                conn.autocommit = True
                conn.execute(f"LISTEN {CHANNEL}")
                ctx.listening.set()
                if failures:
                    log.warning("缓存失效监听已恢复（重连 %d 次）", failures)
                    failures = 0
                if missed:
                    drop_all()
                for note in conn.notifies():
                    sender, _, kind = note.payload.partition(":")
                    if sender != me and kind in handlers:
                        try:
                            handlers[kind]()
                        except Exception:  # noqa: BLE001
                            log.exception("缓存失效处理失败（%s）", kind)
            except Exception as exc:  # noqa: BLE001 - the database restarted or the connection dropped: listen again
                failures += 1
                # the whole story once per outage, then a line now and then: a database down for an hour is not
                # 1,800 tracebacks in the log
                if failures == 1:
                    log.warning("缓存失效监听中断，%.0f 秒后重连", RETRY_SECONDS, exc_info=True)
                elif failures % REPEAT_EVERY == 0:
                    log.warning("缓存失效监听仍未恢复（已重连 %d 次）：%s", failures, str(exc).splitlines()[0])
            ctx.listening.clear()
            missed = True
            time.sleep(RETRY_SECONDS)

    thread = threading.Thread(target=run, name="pingan-cache-listen", daemon=True)
    thread.start()
    return thread
