"""The embedded PostgreSQL and Redis really start, serve, stop and start again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from console.lib.embedded import (
    DataDirectoryTooOld,
    EmbeddedPostgres,
    EmbeddedRedis,
    server_major,
)

pytestmark = pytest.mark.integration


async def test_embedded_postgres_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pgdata")
    try:
        dsn = server.start()
        assert dsn == server.dsn
        connection = await asyncpg.connect(dsn)
        try:
            assert await connection.fetchval("select 1") == 1
            assert await connection.fetchval("select current_database()") == "seus"
            await connection.execute("create table kept (note text)")
            await connection.execute("insert into kept values ('written before the restart')")
        finally:
            await connection.close()

        server.stop()
        with pytest.raises((OSError, asyncpg.PostgresError)):
            await asyncpg.connect(dsn, timeout=2)
        server.stop()  # stopping a stopped server is not an error

        assert server.start() == dsn
        connection = await asyncpg.connect(dsn)
        try:
            assert await connection.fetchval("select note from kept") == (
                "written before the restart"
            )
        finally:
            await connection.close()

        another_handle = EmbeddedPostgres(tmp_path / "pgdata")
        assert another_handle.start() == dsn  # reuses the server already running there
    finally:
        server.stop()


def test_a_data_directory_of_another_postgresql_version_is_refused_and_left_alone(
    tmp_path: Path,
) -> None:
    """An older console's data (pgserver, PostgreSQL 16) stops start-up with the way out."""
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("16\n")
    (pgdata / "base").mkdir()
    before = sorted(p.name for p in pgdata.iterdir())

    with pytest.raises(DataDirectoryTooOld) as refused:
        EmbeddedPostgres(pgdata).start()

    message = str(refused.value)
    assert "PostgreSQL 16" in message and f"PostgreSQL {server_major()}" in message
    assert "pg_dump" in message and "docs/operations.md" in message
    assert sorted(p.name for p in pgdata.iterdir()) == before
    assert (pgdata / "PG_VERSION").read_text() == "16\n"


async def test_embedded_redis_answers_and_restarts_on_the_same_port(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    try:
        url = server.start()
        assert url == server.url == f"redis://127.0.0.1:{server.port}/0"
        client = aioredis.from_url(url, decode_responses=True)
        try:
            assert await client.ping()
            assert await client.config_get("save") == {"save": ""}
        finally:
            await client.aclose()

        server.stop()
        server.stop()  # stopping a stopped server is not an error
        client = aioredis.from_url(url, retry=None)
        try:
            with pytest.raises(aioredis.ConnectionError):
                await client.ping()
        finally:
            await client.aclose()

        assert server.start() == url
        client = aioredis.from_url(url)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
    finally:
        server.stop()


def test_embedded_redis_on_a_busy_port_fails_with_its_log(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "first") as first:
        second = EmbeddedRedis(tmp_path / "second", port=first.port)
        with pytest.raises(RuntimeError, match="Address already in use"):
            second.start()


ORPHAN_MAKER = """
import os, signal, sys
from pathlib import Path
from console.lib.embedded import EmbeddedRedis
server = EmbeddedRedis(Path(sys.argv[1]))
server.start()
print(server.port, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def answers(port: int) -> bool:
    """True if something answers PING on 127.0.0.1:port."""
    client = redis.Redis(port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def test_a_redis_orphaned_by_a_killed_process_is_stopped_at_the_next_start(
    tmp_path: Path,
) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", ORPHAN_MAKER, str(tmp_path / "redis")],
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    orphan_port = int(killed.stdout)
    orphan_pid = int((tmp_path / "redis" / "redis.pid").read_text())
    assert answers(orphan_port)

    try:
        with EmbeddedRedis(tmp_path / "redis") as server:
            assert answers(server.port)
            assert not answers(orphan_port)
    finally:
        if answers(orphan_port):  # the test failed: do not leak the orphan
            os.kill(orphan_pid, signal.SIGTERM)
