"""Shared fixtures: real PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL are set),
a fresh migrated database per test, and console processes started as a user would start them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from console.app import database
from console.areas.clocks import store as clocks_store
from console.lib import geography
from console.lib.config import Settings
from console.lib.db import Database, create_pool
from console.lib.embedded import EmbeddedPostgres, EmbeddedRedis, _with_database
from console.lib.migrate import migrate
from tests import support
from tests.browser_fixtures import browser, contexts, unit_id  # noqa: F401 (fixtures)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        if "reliability" in parts:
            item.add_marker(pytest.mark.reliability)
        if "security" in parts:
            item.add_marker(pytest.mark.security)


@pytest.fixture(scope="session")
def pg_admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server: DATABASE_URL's, else an embedded one for this test session."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    dsn = server.start()
    try:
        yield dsn
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


async def _admin(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _prepare(dsn: str) -> None:
    """What run.py does before serving: migrate, load the reference geography."""
    await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await geography.ensure_loaded(conn)
        await clocks_store.ensure_seeded(conn, datetime.now(UTC))
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(pg_admin_dsn: str) -> Iterator[str]:
    """A database migrated once; each test copies it."""
    name = f"seus_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(pg_admin_dsn, f'CREATE DATABASE "{name}"'))
    asyncio.run(_prepare(_with_database(pg_admin_dsn, name)))
    try:
        yield name
    finally:
        asyncio.run(_admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


DatabaseCopy = Callable[[], contextlib.AbstractContextManager[str]]


@pytest.fixture(scope="session")
def fresh_database(pg_admin_dsn: str, template_database: str) -> DatabaseCopy:
    """`with fresh_database() as dsn:` a migrated database of its own, dropped afterwards (for
    module-scoped set-ups; a test asks for `database_url`)."""

    @contextlib.contextmanager
    def copy() -> Iterator[str]:
        name = f"seus_t_{uuid.uuid4().hex[:12]}"
        create = f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
        asyncio.run(_admin(pg_admin_dsn, create))
        try:
            yield _with_database(pg_admin_dsn, name)
        finally:
            asyncio.run(_admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return copy


@pytest.fixture
def database_url(fresh_database: DatabaseCopy) -> Iterator[str]:
    """A fresh, migrated database of this test's own."""
    with fresh_database() as dsn:
        yield dsn


@pytest.fixture
def redis_prefix() -> str:
    """Keys and channels of this test only (Redis may be shared with other runs)."""
    return f"seus-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return Settings(database_url=database_url, redis_url=redis_url, redis_prefix=redis_prefix)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    pool = await create_pool(database_url, min_size=1, max_size=20)
    try:
        yield database(pool)
    finally:
        await pool.close()


@pytest.fixture
def people(database_url: str) -> dict[str, support.Person]:
    """One user of every role (and a referrer key and a unit device token), known passwords."""
    return asyncio.run(support.seed_people(database_url))


@pytest.fixture
def start_console(
    database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[support.ConsoleFactory]:
    """Start console processes (`python run.py`) on this test's database; stopped at the end."""
    started: list[support.Console] = []

    def start(**env: str) -> support.Console:
        console = support.Console.start(
            {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "SEUS_REDIS_PREFIX": redis_prefix,
                **env,
            },
            data_dir=tmp_path / f"console{len(started)}",
        )
        started.append(console)
        return console

    try:
        yield start
    finally:
        for console in started:
            console.stop()


@pytest.fixture
async def log(
    database_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[support.LogWriter]:
    """Events written straight into this test's log and announced on Redis, as another
    instance would write them."""
    pool = await create_pool(database_url, min_size=1, max_size=4)
    redis = aioredis.from_url(redis_url)
    try:
        yield support.LogWriter(database(pool), redis, redis_prefix)
    finally:
        await redis.aclose()
        await pool.close()
