"""The Starlette application: the areas composed explicitly (their routes, before-commit hooks
and jobs), middleware, error translation, lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from console.areas import (
    accounts,
    assessment,
    audit,
    basket,
    cases,
    clocks,
    crew,
    devices,
    geo,
    handover,
    indicators,
    intake,
    map,
    room,
    search,
    supervision,
    tablet,
    units,
)
from console.lib import api, errors, guard, live, ops, render, scheduler
from console.lib.bus import Bus
from console.lib.config import Settings
from console.lib.db import OUTAGE_ERRORS, RETRY_AFTER_SECONDS, Database, create_pool, unavailable
from console.lib.hub import Hub
from console.lib.middleware import BodyLimit, Observe
from console.lib.ratelimit import LoginLimiter
from console.lib.services import Services
from dispatch.errors import DomainError, IllegalTransition, Refused

log = logging.getLogger("seus.app")

# The areas of the console. Each gives its routes (API operations and pages); intake and the
# clocks give before-commit hooks (`database`), the accounts and the basket jobs.
AREAS = (
    room,
    accounts,
    intake,
    geo,
    assessment,
    cases,
    units,
    map,
    tablet,
    crew,
    devices,
    basket,
    handover,
    clocks,
    supervision,
    indicators,
    search,
    audit,
)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


async def _error_response(request: Request, exc: errors.ApiError) -> Response:
    if _wants_json(request):
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())
    session = None
    if not isinstance(exc, errors.Unavailable):  # a logged-in visitor keeps the navigation
        with contextlib.suppress(*OUTAGE_ERRORS):  # (not while PostgreSQL is away)
            session = await guard.session_of(request)
    response = render.render(
        request,
        "error.html",
        exc.status,
        status=exc.status,
        message=exc.detail,
        principal=session.principal if session else None,
        csrf_token=session.csrf_token if session else "",
        page_title="Errore",
    )
    response.headers.update(exc.headers())
    return response


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ApiError)
    return await _error_response(request, exc)


async def on_domain_error(request: Request, exc: Exception) -> Response:
    """The pure core refused: an illegal move or a broken rule is a 409; bad data a 422."""
    assert isinstance(exc, DomainError)
    if isinstance(exc, IllegalTransition | Refused):
        error = errors.Conflict(str(exc))
        error.code = "illegal_transition" if isinstance(exc, IllegalTransition) else "refused"
    else:
        error = errors.ValidationFailed(str(exc))
        error.code = "rule_violated"
    return await _error_response(request, error)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    known = {404: errors.NotFound(), 405: errors.ApiError("Metodo non consentito.")}
    error = known.get(exc.status_code, errors.ApiError(str(exc.detail)))
    error.status = exc.status_code
    if exc.status_code == 405:
        error.code = "method_not_allowed"
    return await _error_response(request, error)


CLOSE_TRY_AGAIN_LATER = 1013  # the websocket close code for the same


async def on_database_down(conn: HTTPConnection, exc: Exception) -> Response | None:
    """PostgreSQL stopped, restarting, frozen or unreachable: 503 with Retry-After, at once
    (db.py bounds every wait); a websocket is closed with 1013, try again later. Any other
    error of these kinds is a bug."""
    if not unavailable(exc):
        if isinstance(conn, WebSocket):
            raise exc
        return await on_unexpected(conn, exc)
    log.warning("PostgreSQL unavailable", extra={"error": repr(exc), "path": conn.url.path})
    if isinstance(conn, WebSocket):
        await _close_websocket(conn, CLOSE_TRY_AGAIN_LATER)
        return None
    assert isinstance(conn, Request)
    return await _error_response(conn, errors.Unavailable(retry_after=RETRY_AFTER_SECONDS))


async def _close_websocket(ws: WebSocket, code: int) -> None:
    """Accepted first if need be: a refused handshake is a bare HTTP error to a browser, a close
    code tells the client what to do (docs/live-protocol.md)."""
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
        if ws.client_state is WebSocketState.CONNECTING:
            await ws.accept()
        if ws.client_state is WebSocketState.CONNECTED:
            await ws.close(code=code)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: 500 with the documented body. Starlette then re-raises it to uvicorn, which closes
    the connection after the answer; `Connection: close` tells the client so, or it could send
    its next request on that connection and lose it."""
    log.exception("unhandled error", extra={"path": request.url.path})
    return JSONResponse(
        {"error": "internal_error", "detail": "Errore interno."},
        status_code=500,
        headers={"Connection": "close"},
    )


def routes() -> list[BaseRoute]:
    """Every route the console serves: the platform's, then each area's."""
    return [
        *api.routes(live),
        *api.routes(ops),
        Route("/metrics", ops.metrics_endpoint, methods=["GET"]),
        Route("/api/openapi.json", ops.openapi_endpoint, methods=["GET"]),
        WebSocketRoute("/ws", live.websocket_endpoint),
        *(route for area in AREAS for route in area.routes()),
    ]


ROUTES = routes()
# What the routes declare: the OpenAPI document and the access matrix read these.
OPERATIONS = [r.operation for r in ROUTES if isinstance(r, api.OperationRoute)]
PAGES = [r.page for r in ROUTES if isinstance(r, render.PageRoute)]


def database(pool: asyncpg.Pool) -> Database:
    """The database as the areas need it: every action runs their before-commit hooks."""
    # The referrer's progress first: the clocks see every event of the action.
    return Database(pool, before_commit=[*intake.before_commit(), *clocks.before_commit()])


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        redis = aioredis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=10
        )
        db = database(pool)
        hub = Hub(pool, queue_size=settings.ws_queue)
        await hub.start()
        bus = Bus(redis, hub, prefix=settings.redis_prefix, poll_seconds=settings.poll_seconds)
        db.listeners.append(bus.committed)
        await bus.start()
        limiter = LoginLimiter(
            redis,
            prefix=settings.redis_prefix,
            per_account=settings.login_limit_per_account,
            per_address=settings.login_limit_per_address,
            window=settings.login_window,
        )
        app.state.services = Services(settings, db, redis, hub, bus, limiter)
        timers = scheduler.start(
            db,
            [
                *accounts.jobs(settings.session_policy),
                *basket.jobs(),
                *units.jobs(settings.position_history),
            ],
        )
        clocks.watch(db, hub, timers)
        log.info("console ready", extra={"head": hub.head})
        try:
            yield
        finally:
            timers.shutdown(wait=False)
            await hub.stop()
            await bus.stop()
            await redis.aclose()
            await pool.close()
            log.info("console stopped")

    app = Starlette(
        routes=[*ROUTES, Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")],
        middleware=[Middleware(Observe), Middleware(BodyLimit, limit=settings.body_limit)],
        exception_handlers={
            errors.ApiError: on_api_error,
            DomainError: on_domain_error,
            HTTPException: on_http_error,
            **dict.fromkeys(OUTAGE_ERRORS, on_database_down),
            Exception: on_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.operations = OPERATIONS
    return app
