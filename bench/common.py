"""What every figure shares: sizes, the run's state, the figure record, seeded people and data."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench import servers
from bench.servers import Server, Stack
from console.areas.intake.schemas import EXAMPLE
from console.lib import auth, eventlog
from tests.support import Console, Person, password_hash


@dataclass(frozen=True)
class Sizes:
    e2e_sockets: int
    e2e_rate: float  # referrals per second
    e2e_seconds: float
    fanout_sockets: int
    fanout_events: int
    intake_count: int
    intake_clients: int
    resume_events: int
    timer_clocks: int
    timer_span: float  # seconds the deadlines are spread over
    timer_lead: float  # seconds from creating the clocks to the first deadline
    ws_idle_sockets: int
    queue_open: int
    queue_requests: int
    writers: int = 8  # concurrent producers in the fan-out figure
    search_referrals: int = 5_000  # referrals searched over (open and closed)
    search_requests: int = 60
    zone_points: int = 2_000  # random points looked up (plus the 273 municipalities')
    map_referrals: int = 500  # open referrals with a point on /mappa
    map_units: int = 200  # units moving once a second on /mappa
    map_loads: int = 5  # page loads timed (median) for the first paint
    map_seconds: float = 4  # the frame-rate trace, each of ours and the floor

    @property
    def operators(self) -> int:
        return max(self.e2e_sockets, self.fanout_sockets, self.ws_idle_sockets) + 1


QUICK = Sizes(
    e2e_sockets=50,
    e2e_rate=25,
    e2e_seconds=2.5,
    fanout_sockets=200,
    fanout_events=40,
    intake_count=2_000,
    intake_clients=32,
    resume_events=2_000,
    timer_clocks=10_000,
    timer_span=20,
    timer_lead=1.5,
    ws_idle_sockets=500,
    queue_open=2_000,
    queue_requests=40,
)

FULL = Sizes(
    e2e_sockets=200,
    e2e_rate=20,
    e2e_seconds=30,
    fanout_sockets=1_000,
    fanout_events=200,
    intake_count=10_000,
    intake_clients=32,
    resume_events=10_000,
    timer_clocks=100_000,
    timer_span=60,
    timer_lead=5,
    ws_idle_sockets=2_000,
    queue_open=2_000,
    queue_requests=200,
    search_referrals=100_000,
    search_requests=300,
    zone_points=20_000,
    map_loads=15,
    map_seconds=10,
)


@dataclass
class Figure:
    name: str
    ours: float
    baseline: float
    unit: str
    target: str
    met: bool | None
    note: str = ""


@dataclass
class Operator:
    user_id: int
    username: str
    cookie: str
    csrf: str


@dataclass
class Run:
    stack: Stack
    sizes: Sizes
    quick: bool
    dsn: str
    redis_url: str
    prefix: str
    consoles: list[Console]
    people: dict[str, Person]
    operators: list[Operator]
    referrer_id: int
    channels: Server | None = None  # the Channels baseline, started with the instances
    floors: dict[str, Server] = field(default_factory=dict)  # bare servers, idle until used
    loadgens: dict[str, servers.LoadGen] = field(default_factory=dict)  # started, idle
    problems: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def floor(self, name: str) -> Server:
        """The bare `websockets` server for one figure: started with the instances (idle
        until now), or now."""
        return self.floors.pop(name, None) or servers.floor_server(self.stack, name)

    def loadgen(self, name: str) -> servers.LoadGen:
        """A load generator process: started with the instances (idle until now), or now."""
        return self.loadgens.pop(name, None) or servers.LoadGen(self.stack, name)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    @property
    def referrer_key(self) -> str:
        return self.people["referrer"].secret

    def ws_target(
        self, console: Console, operator: Operator, after: int | None = None
    ) -> dict[str, Any]:
        url = console.ws_url if after is None else f"{console.ws_url}?after={after}"
        return {
            "url": url,
            "headers": {
                "Origin": console.origin,
                "Cookie": f"{auth.SESSION_COOKIE}={operator.cookie}",
            },
        }


async def log_head(dsn: str) -> int:
    """The event log's head now: sockets opened with `after=` it go live after an empty
    backfill, as a console that was already up to date reconnects (no snapshot per socket)."""
    conn = await asyncpg.connect(dsn)
    try:
        seq: int = await conn.fetchval("SELECT seq FROM event_head")
        return seq
    finally:
        await conn.close()


async def seed_operators(dsn: str, count: int) -> list[Operator]:
    """`count` operators, each with a session of its own opened as a login would open it
    (console.lib.auth.open_session): every socket of the figures is another person's screen.
    One password hash for all (argon2 is slow on purpose; no one logs in with it here)."""
    conn = await asyncpg.connect(dsn)
    try:
        hashed = password_hash("bench-operator-password")
        tag = uuid.uuid4().hex[:6]
        rows = await conn.fetch(
            "INSERT INTO users (username, display_name, password_hash, role)"
            " SELECT 'bench-' || $1 || '-' || i, 'Operatore ' || i, $2, 'operator'"
            " FROM generate_series(1, $3) AS i RETURNING id, username",
            tag,
            hashed,
            count,
        )
    finally:
        await conn.close()
    now = datetime.now(UTC)
    pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)
    try:

        async def open_one(row: asyncpg.Record) -> Operator:
            async with pool.acquire() as each:
                cookie, session = await auth.open_session(
                    each, row["id"], now, addr="127.0.0.1", agent="bench"
                )
            return Operator(row["id"], row["username"], cookie, session.csrf_token)

        return list(await asyncio.gather(*(open_one(row) for row in rows)))
    finally:
        await pool.close()


def referral_body(description: str) -> dict[str, Any]:
    """The API's own example referral (console/areas/intake/schemas.py) with our description."""
    return {**EXAMPLE, "description": description}


async def quiesce(conn: asyncpg.Connection) -> None:
    """Between figures: close the referrals and cancel the clocks earlier figures opened, so
    that their 5-minute SLA clocks do not fire in the middle of a later figure (bench
    housekeeping, straight in the database; no events)."""
    await conn.execute(
        "UPDATE clocks SET state = 'cancelled', due_at = NULL, deadline = NULL,"
        " running_since = NULL, ended_at = now(), updated_at = now()"
        " WHERE state IN ('running', 'paused')"
    )
    await conn.execute(
        "UPDATE referrals SET status = 'not_pertinent', updated_at = now()"
        " WHERE status IN ('received', 'in_assessment')"
    )


async def insert_referrals(
    conn: asyncpg.Connection, count: int, *, status: str, referrer_id: int, tag: str
) -> list[int]:
    """`count` referral rows as intake leaves them (urgencies, places and ages varied), in one
    statement; returns their ids."""
    rows = await conn.fetch(
        "WITH places AS (SELECT istat_code, zone_id, row_number() OVER (ORDER BY istat_code) - 1"
        "   AS n, count(*) OVER () AS total FROM municipalities)"
        " INSERT INTO referrals (case_number, referrer_id, status, trigger, urgency_proposed,"
        " municipality_code, zone_id, people, description, callback, received_at, updated_at)"
        " SELECT 'BENCH-' || $4 || '-' || i, $2, $3,"
        " (ARRAY['abandonment','poverty_homelessness','violence'])[1 + i % 3],"
        " (ARRAY['rosso','giallo','verde',NULL])[1 + i % 4], p.istat_code, p.zone_id,"
        " $5::text::jsonb, 'Segnalazione di prova ' || i || ': persona sola in difficoltà,"
        " senza rete familiare, da valutare con urgenza.', $6::text::jsonb,"
        " now() - make_interval(secs => i * 3), now()"
        " FROM generate_series(1, $1) AS i"
        " JOIN places p ON p.n = i % p.total RETURNING id",
        count,
        referrer_id,
        status,
        tag,
        json.dumps({"count": 2, "minors": 1, "age_band": "30_64", "language": "it"}),
        json.dumps({"name": "Referente", "role": "triage", "phone": "+39 055 000000"}),
    )
    return [r["id"] for r in rows]


async def wire_of(dsn: str, subject: str) -> str:
    """The websocket message of the first event about `subject` (the baselines' payload)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        seq = await conn.fetchval("SELECT min(seq) FROM events WHERE subject = $1", subject)
        (event,) = await eventlog.read_range(conn, seq - 1, seq)
    finally:
        await conn.close()
    return eventlog.wire(event)
