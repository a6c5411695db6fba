"""A throwaway PostgreSQL cluster for tests: initdb into a temp folder, serve on a unix socket only, remove after.

`find_binaries()` looks for initdb/pg_ctl on PATH, then in /usr/lib/postgresql/<version>/bin (newest first).
PostgreSQL refuses to run as root, so when the tests run as root the cluster runs as an unprivileged user
(`postgres` if it exists, else `nobody`) through `runuser`; the temp folder is handed to that user. The server
is tuned for throwaway data (no fsync), which is fine for tests and never for a deployment. Needs PostgreSQL ≥ 15
(ICU as the cluster's default collation provider).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

PORT = 5432  # only names the socket file inside our own folder: no TCP port is opened
SUPERUSER = "postgres"


class Unavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why (used as the skip reason)."""


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
        candidates.append(Path(on_path).parent)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    candidates += versions
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _run_as() -> str | None:
    """The user to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise Unavailable("running as root and no unprivileged user (postgres/nobody) to run PostgreSQL as")


class Cluster:
    """One running server. `url(name)` is a SQLAlchemy URL; `create_database(name, template=None)`."""

    def __init__(self, bindir: Path, folder: Path, user: str | None):
        self.bindir, self.folder, self.user = bindir, folder, user
        self.data = folder / "data"
        self.log = folder / "server.log"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", self.user, "--", *cmd] if self.user else cmd

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self._cmd(*args), cwd=self.folder, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise Unavailable(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-1000:]} {log}")

    def start(self, durable: bool = False, max_connections: int = 40) -> None:
        # A zh-CN ICU collation, as a deployment in China would have: string ranges that only hold bytewise
        # (e.g. code + ':' as an upper bound) fail here as they would there.
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                  "--locale-provider=icu", "--icu-locale=zh-CN", "--no-sync")
        self.options = self._options(durable, max_connections)
        self.serve()

    def _options(self, durable: bool, max_connections: int) -> str:
        fast = "" if durable else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return f"-k {self.folder} -p {PORT} -c listen_addresses=''{fast} -c max_connections={max_connections}"

    def serve(self) -> None:
        """Start the server on the existing data folder (after `start`, `stop` or a base backup)."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self.options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                           cwd=self.folder, capture_output=True, timeout=60)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.folder}&port={PORT}"

    def connect(self, database: str = "postgres", **kw):
        """A plain psycopg connection (no SQLAlchemy)."""
        import psycopg

        return psycopg.connect(host=str(self.folder), port=PORT, user=SUPERUSER, dbname=database, **kw)

    def execute(self, sql: str) -> None:
        """One statement outside a transaction (CREATE/DROP DATABASE)."""
        with self.connect(autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new, empty (or copied from `template`, which must have no open connection) database; its URL."""
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)


def start_cluster(durable: bool = False, max_connections: int = 40) -> Cluster:
    """Start a cluster or raise Unavailable with the reason. `durable`: fsync and synchronous commit on, as a
    deployment has them (benchmarks); else tuned for throwaway data."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"psycopg is not installed ({exc}); pip install -e '.[test]'") from exc
    bindir = find_binaries()
    if bindir is None:
        raise Unavailable("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
                          "/usr/lib/postgresql/*/bin; apt-get install postgresql")
    user = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="pingan-pg-"))  # short path: a unix socket path is limited to ~100 bytes
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(bindir, folder, user)
    try:
        cluster.start(durable, max_connections)
    except BaseException:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster


def start_replica(primary: Cluster) -> Cluster:
    """A streaming hot-standby replica of `primary` (`pg_basebackup -R`: it follows the primary over its unix
    socket), in its own folder and socket; remove it with `remove_cluster` before the primary."""
    folder = Path(tempfile.mkdtemp(prefix="pingan-pgr-"))
    if primary.user:
        entry = pwd.getpwnam(primary.user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    replica = Cluster(primary.bindir, folder, primary.user)
    try:
        replica._run("pg_basebackup", "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "-h", str(primary.folder),
                     "-p", str(PORT), "-U", SUPERUSER, "--no-sync")
        replica.options = primary.options.replace(f"-k {primary.folder}", f"-k {folder}") + " -c hot_standby=on"
        replica.serve()
    except BaseException:
        replica.stop()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return replica


def remove_cluster(cluster: Cluster) -> None:
    cluster.stop()
    shutil.rmtree(cluster.folder, ignore_errors=True)
