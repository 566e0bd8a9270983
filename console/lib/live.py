"""The live stream: websocket `/ws` (docs/live-protocol.md) and its HTTP twin `/api/v1/events`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect

from console.lib import auth, eventlog, guard, metrics, schemas, services
from console.lib.api import operation
from console.lib.db import OUTAGE_ERRORS
from console.lib.hub import CLOSE_SESSION_ENDED, CLOSE_TOO_SLOW, Subscription
from dispatch import access
from dispatch.stream import Backfill, plan_resume

log = logging.getLogger("seus.live")

SNAPSHOT_EVENTS = 50
_PAGE = 500


def _after(raw: str | None) -> int | bool | None:
    """The client's last seq; False when malformed."""
    if raw is None or raw == "":
        return None
    return int(raw) if raw.isdigit() and len(raw) < 19 else False


async def websocket_endpoint(ws: WebSocket) -> None:
    svc = services.of(ws)
    after = _after(ws.query_params.get("after"))
    if not auth.origin_allowed(ws, svc.settings) or after is False:
        await ws.close(code=1008)  # before accept: the handshake gets HTTP 403
        return
    principal = await guard.principal_of(ws)  # PostgreSQL away: app.py closes with 1013
    if principal is None:
        await ws.close(code=1008)
        return
    await ws.accept()
    sub = svc.hub.subscribe(principal)  # subscribe (buffer) first, then catch up
    try:
        await _serve(ws, sub, after if isinstance(after, int) else None)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away (RuntimeError: sent after the socket closed)
    finally:
        svc.hub.unsubscribe(sub)


async def _serve(ws: WebSocket, sub: Subscription, after: int | None) -> None:
    svc = services.of(ws)
    await ws.send_text(
        json.dumps(
            {
                "type": "hello",
                "head": svc.hub.head,
                "heartbeat": svc.settings.heartbeat_seconds,
                "user": {"name": sub.principal.name, "role": sub.principal.role.value},
            }
        )
    )
    sent = await _catch_up(ws, sub, after)
    await ws.send_text(json.dumps({"type": "live", "head": max(sent, sub.position)}))
    ended = asyncio.create_task(sub.ended.wait())
    tasks = [asyncio.create_task(_read(ws)), asyncio.create_task(_write(ws, sub, sent)), ended]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()  # also a writer stuck on a client that stopped reading
        await asyncio.gather(*tasks, return_exceptions=True)
    if sub.close_code is not None:
        if sub.close_code == CLOSE_TOO_SLOW:
            metrics.WS_CLOSED_SLOW.inc()
        await _close(ws, sub.close_code)


async def _write(ws: WebSocket, sub: Subscription, sent: int) -> None:
    """Drain the socket's queue in order; heartbeat when idle."""
    heartbeat = services.of(ws).settings.heartbeat_seconds
    while sub.close_code is None:
        item = await sub.next(heartbeat)
        if item is None:
            if sub.close_code is not None:
                return
            if not await _session_alive(ws, sub.principal):
                sub.end(CLOSE_SESSION_ENDED)
                return
            await ws.send_text(
                json.dumps(
                    {
                        "type": "heartbeat",
                        "head": max(sent, sub.position),
                        "at": datetime.now(UTC).isoformat(),
                    }
                )
            )
            continue
        seq, message = item
        if seq > sent:  # drop what the backfill already sent
            sent = seq
            await ws.send_text(message)


async def _catch_up(ws: WebSocket, sub: Subscription, after: int | None) -> int:
    """Snapshot or backfill; returns the last seq the client now has."""
    pool = services.of(ws).db.pool
    limit = services.of(ws).settings.backfill_limit
    head = await eventlog.head(pool)
    plan = plan_resume(after, head, limit)
    if isinstance(plan, Backfill):
        sent = plan.after
        while True:
            page = await eventlog.read_visible_wire(pool, sent, sub.tags, _PAGE)
            for seq, message in page:
                await ws.send_text(message)
                sent = seq
            if len(page) < _PAGE:
                return sent
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        latest = await eventlog.latest_visible(conn, sub.tags, as_of, SNAPSHOT_EVENTS)
    await ws.send_text(
        json.dumps(
            {
                "type": "snapshot",
                "as_of": as_of,
                "reason": plan.reason,
                "data": {"events": [eventlog.to_json(e) for e in latest]},
            }
        )
    )
    return as_of


async def _read(ws: WebSocket) -> None:
    """Answer pings; end when the client goes away."""
    while True:
        raw = await ws.receive_text()
        with contextlib.suppress(ValueError):
            if json.loads(raw).get("type") == "ping":
                await ws.send_text('{"type":"pong"}')


async def _session_alive(ws: WebSocket, principal: access.Principal) -> bool:
    if principal.session_id is None:
        return True  # device-token sockets: the token is checked at connect
    svc = services.of(ws)
    try:
        return await auth.still_valid(
            svc.db.pool, principal.session_id, datetime.now(UTC), svc.settings.session_policy
        )
    except OUTAGE_ERRORS:
        return True  # PostgreSQL unreachable: keep the socket; check again next heartbeat


async def _close(ws: WebSocket, code: int) -> None:
    with contextlib.suppress(TimeoutError, RuntimeError, WebSocketDisconnect, OSError):
        await asyncio.wait_for(ws.close(code=code), timeout=2)


@operation(
    "GET",
    "/api/v1/events",
    summary="Events after a seq that the caller may see",
    query=schemas.EventsQuery,
    response=schemas.EventPage,
    auth=("session", "api_key", "device_token"),
    permission=access.Permission.VIEW_OWN,
    tag="live",
    description="The HTTP twin of the websocket's backfill: the same filter, the same order.",
)
async def list_events(
    request: Request, principal: access.Principal, _: None, query: schemas.EventsQuery
) -> schemas.EventPage:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        head = await eventlog.head(conn)
        found = await eventlog.read_visible(
            conn, query.after, access.read_tags(principal), query.limit
        )
    return schemas.EventPage(
        events=[schemas.EventOut(**eventlog.to_json(e)) for e in found], head=head
    )
