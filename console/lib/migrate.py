"""Forward-only numbered SQL migrations, applied at start-up under an advisory lock."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

logger = logging.getLogger("seus.migrate")

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# Any fixed 64-bit number works; every instance must use the same one ("seus" "migr" in ASCII).
LOCK_KEY = 0x73657573_6D696772

FILE_NAME = re.compile(r"(?P<version>\d{4})_[a-z0-9][a-z0-9_-]*\.sql")

CREATE_TABLE = """
create table if not exists schema_migrations (
    version int primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now()
)
"""


class MigrationError(Exception):
    """The migrations cannot be applied; the message says which file and why."""


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, file name, SQL text and sha256 of its bytes."""

    version: int
    name: str
    sql: str
    checksum: str


def load_migrations(directory: Path) -> list[Migration]:
    """Read `NNNN_description.sql` files in order; refuse bad names, duplicates and gaps."""
    migrations: list[Migration] = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql" or not path.is_file():
            continue
        match = FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(
                f"migration file {path.name} is badly named: expected NNNN_description.sql "
                "(4 digits, then lowercase letters, digits, '_' or '-')"
            )
        data = path.read_bytes()
        migrations.append(
            Migration(
                version=int(match["version"]),
                name=path.name,
                sql=data.decode("utf-8"),
                checksum=hashlib.sha256(data).hexdigest(),
            )
        )
    for expected, migration in enumerate(migrations, start=1):
        if migration.version == expected:
            continue
        if expected > 1 and migration.version == migrations[expected - 2].version:
            previous = migrations[expected - 2].name
            raise MigrationError(
                f"migration {migration.name} has the same number as {previous}: "
                "give each migration its own number"
            )
        raise MigrationError(
            f"migration {migration.name} leaves a gap in numbering: expected {expected:04d} "
            "next (migrations are numbered 0001, 0002, ... without gaps)"
        )
    return migrations


def _check_applied(migrations: list[Migration], applied: list[asyncpg.Record]) -> None:
    """Fail if an applied migration was edited, renamed or removed since it was applied."""
    by_version = {migration.version: migration for migration in migrations}
    for row in applied:
        migration = by_version.get(row["version"])
        if migration is None:
            raise MigrationError(
                f"migration {row['name']} was applied to this database but its file is missing: "
                "restore it (migrations are forward-only and never deleted)"
            )
        if migration.name != row["name"]:
            raise MigrationError(
                f"migration {migration.name} was applied as {row['name']}: "
                "restore the original file name"
            )
        if migration.checksum != row["checksum"]:
            raise MigrationError(
                f"migration {migration.name} was edited after it was applied "
                f"(recorded checksum {row['checksum']}, file {migration.checksum}). "
                "Migrations are forward-only: restore the file and put the change in a "
                "new migration."
            )


async def _apply(connection: asyncpg.Connection, migration: Migration) -> None:
    """Run one migration and record it in the same transaction."""
    try:
        async with connection.transaction():
            await connection.execute(migration.sql)
            await connection.execute(
                "insert into schema_migrations (version, name, checksum) values ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
    except asyncpg.PostgresError as exc:
        raise MigrationError(
            f"migration {migration.name} failed and was rolled back: {exc}"
        ) from exc
    logger.info("applied migration %s", migration.name)


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations from `directory`; return the file names applied now."""
    migrations = load_migrations(directory)
    connection = await asyncpg.connect(dsn)
    try:
        if not await connection.fetchval("select pg_try_advisory_lock($1)", LOCK_KEY):
            logger.info("another instance is migrating this database: waiting for it")
            await connection.execute("select pg_advisory_lock($1)", LOCK_KEY)
        try:
            await connection.execute(CREATE_TABLE)
            applied = await connection.fetch(
                "select version, name, checksum from schema_migrations order by version"
            )
            _check_applied(migrations, applied)
            done = {row["version"] for row in applied}
            applied_now: list[str] = []
            for migration in migrations:
                if migration.version not in done:
                    await _apply(connection, migration)
                    applied_now.append(migration.name)
            return applied_now
        finally:
            await _unlock(connection)
    finally:
        await connection.close()


async def _unlock(connection: asyncpg.Connection) -> None:
    """Release the advisory lock; closing the session releases it anyway if this fails."""
    try:
        await connection.execute("select pg_advisory_unlock($1)", LOCK_KEY)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        logger.warning("could not release the migration lock (the session end will): %s", exc)
