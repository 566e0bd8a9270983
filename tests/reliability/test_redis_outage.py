"""Fault: Redis dies (kill -9) and comes back on the same address.

PostgreSQL is the truth; Redis only makes things fast or shared. Each use of Redis in console/
states whether it fails open or closed, and is tested here during an outage this test starts
(an EmbeddedRedis of its own: the session's shared one stays up):

- `console/lib/bus.py`, the fan-out between instances: fails open. Publishing is best effort after
  the commit; a subscriber that lost Redis is caught up from PostgreSQL.
- `console/lib/ratelimit.py`, the login limiter: fails closed, through a local fallback that counts
  in the process with the same limits; what it counted is still held when Redis returns.
- `console/lib/ops.py`, `/readyz`: fails open. Redis away leaves the instance ready (200,
  `degraded`, the failing check named): a load balancer must not take every instance out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from console.lib.embedded import EmbeddedRedis
from console.lib.ratelimit import LoginLimiter
from tests import support
from tests.reliability.helpers import Follower, head_of, referral_body, visible_seqs

WINDOW = timedelta(seconds=60)


def kill_redis(server: EmbeddedRedis) -> None:
    """kill -9 the server; `start()` brings it back on the same port, empty."""
    os.kill(int(server.pidfile.read_text()), signal.SIGKILL)
    server.stop()  # reaps it


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def listeners(url: str, channel: str) -> int:
    client = aioredis.from_url(url)
    try:
        [(_, count)] = await client.pubsub_numsub(channel)
        return int(count)
    finally:
        await client.aclose()


async def both_listen_again(url: str, channel: str) -> None:
    async def wait() -> None:
        while await listeners(url, channel) < 2:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), 15)


async def send_referral(console: support.Console, key: str, label: str) -> int:
    async with console.client() as client:
        answer = await client.post(
            "/api/v1/referrals",
            json=referral_body(label),
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": label},
        )
    assert answer.status_code == 201, answer.text
    referral_id: int = answer.json()["id"]
    return referral_id


async def log_in(console: support.Console, person: support.Person, password: str) -> httpx.Response:
    async with console.client() as client:
        return await client.post(
            "/api/v1/session", json={"username": person.username, "password": password}
        )


# -- two instances, Redis killed and restarted ------------------------------------------------


async def test_with_redis_killed_everyone_goes_on_writing_logins_stay_limited_and_live_clients_miss_nothing(  # noqa: E501
    start_console, people, database_url, redis_prefix, own_redis
):
    # Polling PostgreSQL only every 30 s: what crosses between instances within the test came
    # through Redis, or from the catch-up an instance does when it finds Redis again.
    env = {
        "REDIS_URL": own_redis.url,
        "SEUS_POLL_SECONDS": "30",
        "SEUS_HEARTBEAT_SECONDS": "0.5",
        "SEUS_LOGIN_LIMIT_ACCOUNT": "3",
    }
    a = start_console(**env)
    b = start_console(**env)
    channel = f"{redis_prefix}:events"
    referrer_key = people["referrer"].secret
    async with contextlib.AsyncExitStack() as stack:
        poster, csrf = await stack.enter_async_context(support.logged_in(a, people["supervisor"]))
        followers = {}
        for name, console in (("operator", b), ("supervisor", a)):
            client, _ = await stack.enter_async_context(support.logged_in(console, people[name]))
            followers[name] = Follower(client, [console])
            followers[name].start()
            stack.push_async_callback(followers[name].stop)
            await followers[name].connected()

        async def post(label: str) -> int:
            return await support.post_message(poster, csrf, label)

        before = await post("prima")
        await followers["operator"].caught_up(before)  # through Redis, from A to B

        kill_redis(own_redis)

        # Intake and actions go on, on both instances: Redis is not on the path of truth.
        during = [await post(f"senza Redis {i}") for i in range(3)]
        await send_referral(a, referrer_key, "senza-redis-a")
        await send_referral(b, referrer_key, "senza-redis-b")
        assert (
            await log_in(a, people["operator2"], people["operator2"].password)
        ).status_code == 201
        # The login limit holds (fails closed): 3 failures, then refused, right password or not.
        for _ in range(3):
            assert (await log_in(b, people["territorial"], "sbagliata")).status_code == 401
        refused = await log_in(b, people["territorial"], people["territorial"].password)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        async with b.client() as client:
            ready = await client.get("/readyz")
        assert ready.status_code == 200, "Redis away: the instance still serves, and says so"
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["postgres"] == "ok"
        assert ready.json()["checks"]["redis"] != "ok"

        own_redis.start()  # the same port: both instances find it again
        await both_listen_again(own_redis.url, channel)

        after = [await post(f"dopo {i}") for i in range(3)]
        await send_referral(a, referrer_key, "dopo-a")
        # The limiter counts in Redis again, and the block from the outage still holds.
        assert (await log_in(a, people["unit2"], "sbagliata")).status_code == 401
        refused = await log_in(b, people["territorial"], people["territorial"].password)
        assert refused.status_code == 429

        head = await head_of(database_url)
        for follower in followers.values():
            await follower.caught_up(head)

    counted = aioredis.from_url(own_redis.url)
    try:
        assert await counted.get(f"{redis_prefix}:login:account:unit2") == b"1"
    finally:
        await counted.aclose()
    for name, follower in followers.items():
        assert follower.unexpected == [], name
        assert follower.seqs == await visible_seqs(database_url, people[name]), name
        assert {before, *during, *after} <= set(follower.seqs), name
        assert len(follower.on) == 1, "nobody had to reconnect"


# -- the login limiter on its own ---------------------------------------------------------------


def limiter_on(client: aioredis.Redis, prefix: str, **limits: int) -> LoginLimiter:
    limits = {"per_account": 3, "per_address": 5} | limits
    return LoginLimiter(client, prefix=prefix, window=WINDOW, **limits)


async def fail(limiter: LoginLimiter, times: int, account: str, address: str) -> None:
    """`times` wrong passwords, each of them let through to be checked."""
    for _ in range(times):
        assert await limiter.attempt(account, address) is None


@pytest.fixture
async def own_client(own_redis: EmbeddedRedis) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(own_redis.url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        yield client
    finally:
        await client.aclose()


async def test_the_login_limiter_counts_locally_while_redis_is_down_and_holds_it_when_it_returns(
    own_redis, own_client, redis_prefix
):
    limiter = limiter_on(own_client, redis_prefix)
    await fail(limiter, 1, "mario.rossi", "10.0.0.1")  # counted in Redis

    kill_redis(own_redis)
    await fail(limiter, 3, "anna.bianchi", "10.0.0.2")
    wait = await limiter.attempt("anna.bianchi", "10.0.0.2")
    assert wait is not None and 1 <= wait <= WINDOW.total_seconds()
    assert await limiter.attempt("luca.verdi", "10.0.0.3") is None  # nobody else is blocked

    own_redis.start()  # empty: what Redis counted before is gone
    assert await limiter.attempt("anna.bianchi", "10.0.0.2") is not None, "still blocked"
    assert await own_client.exists(f"{redis_prefix}:login:account:anna.bianchi") == 1
    # A success forgets the account's count, wherever it was kept.
    await limiter.succeeded("anna.bianchi", "10.0.0.2")
    assert await limiter.attempt("anna.bianchi", "10.0.0.4") is None


async def test_a_redis_that_hangs_holds_no_login_up_and_the_limit_still_holds(
    own_redis, redis_prefix
):
    """A frozen Redis (a stopped process, a partition) accepts connections and never answers."""
    client = aioredis.from_url(
        own_redis.url, socket_timeout=5, socket_connect_timeout=2
    )  # as app.py
    limiter = limiter_on(client, redis_prefix, per_account=1)
    pid = int(own_redis.pidfile.read_text())
    loop = asyncio.get_running_loop()
    try:
        await fail(limiter, 1, "luca.verdi", "10.0.0.1")  # a live connection in the pool
        os.kill(pid, signal.SIGSTOP)
        answers = []
        for _ in range(2):
            started = loop.time()
            answers.append(await limiter.attempt("mario.rossi", "10.0.0.2"))
            # Well under the client's 5 s socket timeout: the limiter gave up on Redis first.
            assert loop.time() - started < 3
        assert answers[0] is None
        assert answers[1] is not None  # counted here: the one failure allowed is used up
    finally:
        os.kill(pid, signal.SIGCONT)
        await client.aclose()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound by nobody listening: connections to it are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_without_any_redis_the_limiter_still_limits_in_the_process(closed_port):
    unreachable = aioredis.from_url(
        f"redis://127.0.0.1:{closed_port}", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    limiter = limiter_on(unreachable, "seus-down")
    try:
        await fail(limiter, 3, "mario.rossi", "10.0.0.1")
        wait = await limiter.attempt("mario.rossi", "10.0.0.1")
        assert wait is not None and 1 <= wait <= WINDOW.total_seconds()
        assert await limiter.attempt("anna.bianchi", "10.0.0.2") is None

        await fail(limiter, 3, "chiunque", "10.0.0.9")
        await fail(limiter, 2, "qualcuno", "10.0.0.9")
        assert await limiter.attempt("nessuno", "10.0.0.9") is not None  # address: 5

        await limiter.succeeded("mario.rossi", "10.0.0.1")
        assert await limiter.attempt("mario.rossi", "10.0.0.1") is None
    finally:
        await unreachable.aclose()


async def test_a_redis_that_refuses_writes_does_not_open_the_door(own_redis):
    """Reads work but writes fail (as on a replica after a failover): attempts count locally."""
    client = aioredis.from_url(own_redis.url)
    try:
        await client.config_set("min-replicas-to-write", 1)  # every write refused: NOREPLICAS
        limiter = limiter_on(client, "seus-ro")
        await fail(limiter, 3, "mario.rossi", "10.0.0.1")
        assert await client.get("seus-ro:login:account:mario.rossi") is None  # nothing written
        assert await limiter.attempt("mario.rossi", "10.0.0.1") is not None
    finally:
        await client.aclose()
