"""The login limiter against a real Redis. Without one, or with one that died and came back, it
still limits (fails closed): tests/reliability/test_redis_outage.py."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from console.lib.ratelimit import LoginLimiter

WINDOW = timedelta(seconds=60)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def limiter_on(client: aioredis.Redis, prefix: str, **limits: int) -> LoginLimiter:
    limits = {"per_account": 3, "per_address": 5} | limits
    return LoginLimiter(client, prefix=prefix, window=WINDOW, **limits)


@pytest.fixture
def limiter(redis_client: aioredis.Redis, redis_prefix: str) -> LoginLimiter:
    return limiter_on(redis_client, redis_prefix)


async def fail(limiter: LoginLimiter, times: int, account: str, address: str) -> None:
    """`times` wrong passwords, each of them let through to be checked."""
    for _ in range(times):
        assert await limiter.attempt(account, address) is None


async def test_an_account_is_blocked_after_its_limit_of_failures_with_a_retry_after(limiter):
    await fail(limiter, 3, "mario.rossi", "10.0.0.1")

    wait = await limiter.attempt("mario.rossi", "10.0.0.1")
    assert wait is not None and 1 <= wait <= WINDOW.total_seconds()
    # From any other address too: the account itself is blocked.
    assert await limiter.attempt("mario.rossi", "10.9.9.9") is not None
    # Other accounts are not.
    assert await limiter.attempt("anna.bianchi", "10.9.9.8") is None


async def test_concurrent_attempts_get_no_more_than_the_limit_through(limiter):
    answers = await asyncio.gather(
        *(limiter.attempt("mario.rossi", f"10.0.0.{n}") for n in range(20))
    )
    assert answers.count(None) == 3


async def test_an_account_name_counts_the_same_whatever_its_case_or_spaces(limiter):
    await fail(limiter, 1, "Mario.Rossi", "10.0.0.1")
    await fail(limiter, 1, " mario.rossi ", "10.0.0.2")
    await fail(limiter, 1, "MARIO.ROSSI", "10.0.0.3")
    assert await limiter.attempt("mario.rossi", "10.0.0.4") is not None


async def test_an_address_is_blocked_after_its_limit_across_accounts_independently(limiter):
    for n in range(5):
        await fail(limiter, 1, f"utente{n}", "10.0.0.1")

    assert await limiter.attempt("nuovo.utente", "10.0.0.1") is not None
    assert await limiter.attempt("altro.utente", "10.0.0.2") is None
    # Each of those accounts failed once only: from elsewhere they are still welcome.
    assert await limiter.attempt("utente0", "10.0.0.3") is None


async def test_a_success_resets_the_accounts_count(limiter):
    await fail(limiter, 2, "mario.rossi", "10.0.0.1")
    assert await limiter.attempt("mario.rossi", "10.0.0.1") is None
    await limiter.succeeded("mario.rossi", "10.0.0.1")

    await fail(limiter, 3, "mario.rossi", "10.0.0.2")
    assert await limiter.attempt("mario.rossi", "10.0.0.3") is not None


async def test_successful_logins_from_one_address_do_not_use_up_its_limit(limiter):
    """A whole shift logging in from behind one NAT address."""
    for n in range(12):
        assert await limiter.attempt(f"operatore{n}", "10.0.0.1") is None
        await limiter.succeeded(f"operatore{n}", "10.0.0.1")
    await fail(limiter, 3, "intruso", "10.0.0.1")
    await fail(limiter, 2, "altro.intruso", "10.0.0.1")
    assert await limiter.attempt("operatore0", "10.0.0.1") is not None  # 5 failures: blocked


async def test_the_block_ends_with_the_window(redis_client, redis_prefix):
    limiter = LoginLimiter(
        redis_client,
        prefix=redis_prefix,
        per_account=1,
        per_address=100,
        window=timedelta(seconds=1),
    )
    await fail(limiter, 1, "mario.rossi", "10.0.0.1")
    assert await limiter.attempt("mario.rossi", "10.0.0.1") == 1
    await asyncio.sleep(1.1)  # Redis expires the key after its second
    assert await limiter.attempt("mario.rossi", "10.0.0.1") is None


async def test_the_counts_of_one_prefix_do_not_touch_another(redis_client, redis_prefix, limiter):
    await fail(limiter, 3, "mario.rossi", "10.0.0.1")
    assert await limiter.attempt("mario.rossi", "10.0.0.1") is not None
    other = limiter_on(redis_client, redis_prefix + "-b")
    assert await other.attempt("mario.rossi", "10.0.0.1") is None
