"""Migrations apply in order, once, atomically, and refuse edited or badly numbered files."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from console.lib.embedded import EmbeddedPostgres
from console.lib.migrate import MigrationError, load_migrations, migrate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def postgres_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DATABASE_URL if set, otherwise one embedded PostgreSQL for the whole session."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("migrate") / "pgdata")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
async def scratch_dsn(postgres_server_dsn: str) -> AsyncIterator[str]:
    """A fresh, randomly named database on the test server, dropped afterwards."""
    name = f"seus_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    try:
        await admin.execute(f'create database "{name}"')
        yield urlsplit(postgres_server_dsn)._replace(path=f"/{name}").geturl()
    finally:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


def write(directory: Path, files: dict[str, str]) -> Path:
    """Write migration files into `directory` and return it."""
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    """Run one query on its own connection."""
    connection = await asyncpg.connect(dsn)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query)
        return rows
    finally:
        await connection.close()


FIRST = {
    "0001_create_zones.sql": "create table zones (id int primary key, name text not null);",
    "0002_seed_zones.sql": "insert into zones values (1, 'Firenze'), (2, 'Pisa');",
}


async def test_migrations_apply_in_order_and_record_their_checksums(
    scratch_dsn: str, tmp_path: Path
) -> None:
    directory = write(tmp_path / "migrations", {**FIRST, "README.txt": "not a migration"})

    assert await migrate(scratch_dsn, directory) == list(FIRST)

    rows = await fetch(scratch_dsn, "select version, name, checksum from schema_migrations")
    assert [(row["version"], row["name"], row["checksum"]) for row in rows] == [
        (number, name, hashlib.sha256(FIRST[name].encode()).hexdigest())
        for number, name in enumerate(FIRST, start=1)
    ]
    assert [row["name"] for row in await fetch(scratch_dsn, "select name from zones")] == [
        "Firenze",
        "Pisa",
    ]


async def test_a_second_run_applies_only_new_migrations(scratch_dsn: str, tmp_path: Path) -> None:
    directory = write(tmp_path / "migrations", FIRST)
    await migrate(scratch_dsn, directory)

    assert await migrate(scratch_dsn, directory) == []

    write(directory, {"0003_more_zones.sql": "insert into zones values (3, 'Lucca');"})
    assert await migrate(scratch_dsn, directory) == ["0003_more_zones.sql"]
    assert len(await fetch(scratch_dsn, "select * from zones")) == 3


async def test_an_edited_migration_stops_start_up(scratch_dsn: str, tmp_path: Path) -> None:
    directory = write(tmp_path / "migrations", FIRST)
    await migrate(scratch_dsn, directory)
    write(directory, {"0001_create_zones.sql": "create table zones (id bigint primary key);"})

    with pytest.raises(MigrationError, match=r"0001_create_zones\.sql was edited after it"):
        await migrate(scratch_dsn, directory)


async def test_a_deleted_applied_migration_stops_start_up(scratch_dsn: str, tmp_path: Path) -> None:
    directory = write(tmp_path / "migrations", FIRST)
    await migrate(scratch_dsn, directory)
    (directory / "0002_seed_zones.sql").unlink()

    with pytest.raises(MigrationError, match=r"0002_seed_zones\.sql .* file is missing"):
        await migrate(scratch_dsn, directory)


async def test_a_gap_in_numbering_is_refused_before_anything_runs(
    scratch_dsn: str, tmp_path: Path
) -> None:
    directory = write(
        tmp_path / "migrations",
        {"0001_create_zones.sql": FIRST["0001_create_zones.sql"], "0003_late.sql": "select 1;"},
    )

    with pytest.raises(MigrationError, match=r"0003_late\.sql leaves a gap"):
        await migrate(scratch_dsn, directory)
    tables = await fetch(scratch_dsn, "select 1 from pg_tables where tablename = 'zones'")
    assert tables == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "", "0001_b.sql": ""}, r"0001_b\.sql has the same number as 0001_a\.sql"),
        ({"1_a.sql": ""}, r"1_a\.sql is badly named"),
        ({"0001 initial.sql": ""}, r"0001 initial\.sql is badly named"),
        ({"0002_first.sql": ""}, r"0002_first\.sql leaves a gap"),
    ],
)
def test_badly_named_or_numbered_files_are_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(MigrationError, match=message):
        load_migrations(write(tmp_path / "migrations", files))


async def test_a_failing_migration_rolls_back_and_keeps_the_earlier_ones(
    scratch_dsn: str, tmp_path: Path
) -> None:
    directory = write(
        tmp_path / "migrations",
        {**FIRST, "0003_broken.sql": "create table half_done (id int);\nselect 1 / 0;"},
    )

    with pytest.raises(MigrationError, match=r"0003_broken\.sql failed"):
        await migrate(scratch_dsn, directory)

    rows = await fetch(scratch_dsn, "select name from schema_migrations order by version")
    assert [row["name"] for row in rows] == list(FIRST)
    assert await fetch(scratch_dsn, "select 1 from pg_tables where tablename = 'half_done'") == []

    write(directory, {"0003_broken.sql": "create table half_done (id int);"})
    assert await migrate(scratch_dsn, directory) == ["0003_broken.sql"]


async def test_two_instances_migrating_at_once_apply_each_migration_exactly_once(
    scratch_dsn: str, tmp_path: Path
) -> None:
    directory = write(
        tmp_path / "migrations",
        {
            "0001_create_log.sql": "create table log (entry text not null);",
            "0002_slow.sql": "select pg_sleep(0.5);\ninsert into log values ('0002');",
            "0003_after.sql": "insert into log values ('0003');",
        },
    )

    first, second = await asyncio.gather(
        migrate(scratch_dsn, directory), migrate(scratch_dsn, directory)
    )

    assert sorted([*first, *second]) == ["0001_create_log.sql", "0002_slow.sql", "0003_after.sql"]
    assert [] in (first, second)
    assert [row["entry"] for row in await fetch(scratch_dsn, "select entry from log")] == [
        "0002",
        "0003",
    ]
    rows = await fetch(scratch_dsn, "select version from schema_migrations order by version")
    assert [row["version"] for row in rows] == [1, 2, 3]
