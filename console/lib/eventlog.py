"""The event log in PostgreSQL: append in the writing transaction, read back by seq."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from dispatch.events import Event, NewEvent

_COLUMNS = "seq, type, subject, zone, audience, payload, actor, at"


async def append(conn: asyncpg.Connection, new: Sequence[NewEvent], at: datetime) -> list[Event]:
    """Give `new` their seqs and insert them; call last, just before commit.

    The UPDATE locks event_head's row until this transaction ends, so seqs are handed out in
    commit order and a rollback gives them back: the log has no hole and no reordering.
    """
    if not new:
        return []
    # One statement, so the head stays locked for one round trip and the commit only.
    last: int = await conn.fetchval(
        "WITH head AS (UPDATE event_head SET seq = seq + $1 WHERE singleton RETURNING seq),"
        " written AS (INSERT INTO events (seq, type, subject, zone, audience, payload, actor, at)"
        " SELECT head.seq - $1 + e.n, e.type, e.subject, e.zone,"
        " ARRAY(SELECT jsonb_array_elements_text(e.audience::jsonb)), e.payload, e.actor, $8"
        " FROM head, unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[],"
        " $7::text[]) WITH ORDINALITY AS e(type, subject, zone, audience, payload, actor, n))"
        " SELECT seq FROM head",
        len(new),
        [e.type for e in new],
        [e.subject for e in new],
        [e.zone for e in new],
        [json.dumps(sorted(e.audience)) for e in new],  # (a list of lists is a 2-D array)
        [dict(e.payload) for e in new],
        [e.actor for e in new],
        at,
    )
    first = last - len(new) + 1
    logged = [
        Event(
            seq=first + i,
            type=e.type,
            subject=e.subject,
            audience=frozenset(e.audience),
            payload=e.payload,
            actor=e.actor,
            zone=e.zone,
            at=at,
        )
        for i, e in enumerate(new)
    ]
    return logged


async def head(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """The last committed seq."""
    value: int = await conn.fetchval("SELECT seq FROM event_head WHERE singleton")
    return value


async def read_range(conn: asyncpg.Connection | asyncpg.Pool, after: int, upto: int) -> list[Event]:
    """Every event with after < seq <= upto, unfiltered (for an instance's own feed)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq", after, upto
    )
    return [_event(r) for r in rows]


async def read_visible(
    conn: asyncpg.Connection | asyncpg.Pool, after: int, tags: frozenset[str], limit: int
) -> list[Event]:
    """Up to `limit` events after `after` whose audience meets `tags`, in seq order."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE seq > $1 AND audience && $2::text[]"
        " ORDER BY seq LIMIT $3",
        after,
        sorted(tags),
        limit,
    )
    return [_event(r) for r in rows]


async def read_visible_wire(
    conn: asyncpg.Connection | asyncpg.Pool, after: int, tags: frozenset[str], limit: int
) -> list[tuple[int, str]]:
    """`read_visible`, as (seq, websocket message) pairs: the payload goes from PostgreSQL's
    text into the message as it is, never decoded and encoded again (a backfill of thousands
    of events). The message is the same JSON as `wire` gives."""
    rows = await conn.fetch(
        "SELECT seq, type, subject, zone, payload::text AS payload, actor, at FROM events"
        " WHERE seq > $1 AND audience && $2::text[] ORDER BY seq LIMIT $3",
        after,
        sorted(tags),
        limit,
    )
    dumps = json.dumps
    return [
        (
            r["seq"],
            f'{{"type": "event", "seq": {r["seq"]}, "event": {{"seq": {r["seq"]},'
            f' "type": {dumps(r["type"])}, "subject": {dumps(r["subject"])},'
            f' "zone": {dumps(r["zone"])}, "payload": {r["payload"]},'
            f' "actor": {dumps(r["actor"])}, "at": {dumps(r["at"].isoformat())}}}}}',
        )
        for r in rows
    ]


async def latest_visible(
    conn: asyncpg.Connection, tags: frozenset[str], as_of: int, limit: int
) -> list[Event]:
    """The last `limit` events up to `as_of` that `tags` may see, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE seq <= $1 AND audience && $2::text[]"
        " ORDER BY seq DESC LIMIT $3",
        as_of,
        sorted(tags),
        limit,
    )
    return [_event(r) for r in reversed(rows)]


def _event(row: asyncpg.Record) -> Event:
    return Event(
        seq=row["seq"],
        type=row["type"],
        subject=row["subject"],
        audience=frozenset(row["audience"]),
        payload=row["payload"],
        actor=row["actor"],
        zone=row["zone"],
        at=row["at"],
    )


def to_json(event: Event) -> dict[str, Any]:
    """The event as clients see it (the audience stays on the server)."""
    return {
        "seq": event.seq,
        "type": event.type,
        "subject": event.subject,
        "zone": event.zone,
        "payload": event.payload,
        "actor": event.actor,
        "at": event.at.isoformat(),
    }


def wire(event: Event) -> str:
    """The websocket message for an event, encoded once for every socket."""
    return json.dumps({"type": "event", "seq": event.seq, "event": to_json(event)})


def to_bus(events: Sequence[Event]) -> str:
    return json.dumps([{**to_json(e), "audience": sorted(e.audience)} for e in events])


def from_bus(raw: str | bytes) -> list[Event]:
    return [
        Event(
            seq=int(d["seq"]),
            type=d["type"],
            subject=d["subject"],
            audience=frozenset(d["audience"]),
            payload=d["payload"],
            actor=d["actor"],
            zone=d["zone"],
            at=datetime.fromisoformat(d["at"]),
        )
        for d in json.loads(raw)
    ]
