"""Start the SEUS console: embedded PostgreSQL and Redis unless URLs are given, migrate, serve.

python run.py [--host H] [--port P] [--data-dir DIR] [--demo]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import uvicorn

from console.app import create_app, database
from console.areas.clocks import store as clocks_store
from console.demo import seed as demo
from console.lib import config, geography, logs
from console.lib.db import create_pool
from console.lib.embedded import EmbeddedPostgres, EmbeddedRedis
from console.lib.migrate import MigrationError, migrate
from console.lib.wsserver import WebSocketProtocol

log = logging.getLogger("seus.run")


class _Server(uvicorn.Server):
    """uvicorn re-raises the signal it handled once it has shut down, which would kill the
    process before the embedded servers are stopped: we finish our own shutdown instead."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="SEUS console: dispatch console of the SEUS.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where embedded PostgreSQL/Redis keep their data (./var)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="seed demo users, referrers and units; write demo-credentials.json",
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def services(settings: config.Settings) -> Iterator[config.Settings]:
    """Start embedded servers for whatever has no URL; stop them on the way out."""
    with contextlib.ExitStack() as stack:
        if not settings.database_url:
            pg = stack.enter_context(EmbeddedPostgres(settings.data_dir / "postgres"))
            settings = settings.with_(database_url=pg.dsn)
            log.info("embedded PostgreSQL started", extra={"pgdata": str(pg.pgdata)})
        if not settings.redis_url:
            redis = stack.enter_context(EmbeddedRedis(settings.data_dir / "redis"))
            settings = settings.with_(redis_url=redis.url)
            log.info("embedded Redis started", extra={"url": redis.url})
        yield settings


async def prepare(settings: config.Settings, seed_demo: bool) -> None:
    applied = await migrate(settings.database_url)
    for name in applied:
        log.info("migration applied", extra={"migration": name})
    conn = await asyncpg.connect(settings.database_url)
    try:
        added = await geography.ensure_loaded(conn)
        await clocks_store.ensure_seeded(conn, datetime.now(UTC))
    finally:
        await conn.close()
    if added:
        log.info("reference geography loaded", extra={"rows": added})
    if seed_demo:
        pool = await create_pool(settings.database_url, min_size=1, max_size=2)
        try:
            path = await demo.seed(database(pool), settings.data_dir, dsn=settings.database_url)
        finally:
            await pool.close()
        print(f"Credenziali demo: {path}", file=sys.stderr)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run the start-up's work (migrations, the demo's first seeding) on uvloop where it is
    installed, as uvicorn runs the console: the first seeding is thousands of round trips."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = config.from_env()
    except config.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    settings = settings.with_(host=args.host, port=args.port)
    if args.data_dir is not None:
        settings = settings.with_(data_dir=args.data_dir)
    settings = settings.with_(data_dir=settings.data_dir.resolve())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logs.configure(settings.log_level, settings.log_format)
    with services(settings) as settings:
        try:
            _run(prepare(settings, args.demo))
        except MigrationError as exc:
            log.error("migrations refused: %s", exc)
            print(f"\nAvvio interrotto: {exc}", file=sys.stderr)
            return 1
        server = _Server(
            uvicorn.Config(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                proxy_headers=False,  # X-Forwarded-For is read only from SEUS_TRUSTED_PROXIES
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=5,
                ws=WebSocketProtocol,  # uvicorn's, letting go of clients that stopped reading
                ws_ping_interval=None,  # our heartbeats carry the head seq
            )
        )
        print(f"SEUS console: http://{settings.host}:{settings.port}/", file=sys.stderr)
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
