"""Login attempt limits, per account and per client address, counted in Redis.

Every attempt is counted before the password is checked; a success gives its attempt back, so
what stays counted are the failures.

Redis outage: fails closed. If Redis cannot be reached, refuses writes or does not answer
within a second, the limiter does not let attempts through uncounted: it counts in this
process instead, with the same limits, so brute force stays bounded during an outage (by the
limit times the number of instances, each counting its own). What was counted locally still
counts once Redis answers again (it is added to Redis's count until its window ends), so a
block does not lift when Redis returns. A login never fails because of Redis: sessions and
passwords are in PostgreSQL.
tests/reliability/test_redis_outage.py proves it against a Redis killed and restarted.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import timedelta

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("seus.ratelimit")

_LOCAL_MAX = 10_000  # local counts kept before the expired ones are dropped


class LoginLimiter:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str,
        per_account: int,
        per_address: int,
        window: timedelta,
        redis_timeout: float = 1.0,
    ) -> None:
        self.redis = redis
        self.redis_timeout = redis_timeout  # a Redis that hangs must not hold logins up
        self.prefix = prefix
        self.limits = {"account": per_account, "address": per_address}
        self.window = max(1, int(window.total_seconds()))
        self._local: dict[str, tuple[int, float]] = {}  # key -> (count, window end)

    def _keys(self, account: str, address: str) -> dict[str, str]:
        return {
            "account": f"{self.prefix}:login:account:{account.strip().lower()}",
            "address": f"{self.prefix}:login:address:{address}",
        }

    async def attempt(self, account: str, address: str) -> int | None:
        """Count one login attempt; the seconds to wait when it is over either limit (refused).

        Counted before the password is checked, in one atomic step (INCR gives each attempt its
        own number): concurrent attempts cannot all slip under the limit.
        """
        keys = self._keys(account, address)
        try:
            async with (
                asyncio.timeout(self.redis_timeout),
                self.redis.pipeline(transaction=True) as pipe,
            ):
                for key in keys.values():
                    # SET NX EX then INCR: the window starts at the first attempt (Redis 6.2,
                    # the embedded one, has no EXPIRE NX).
                    pipe.set(key, 0, ex=self.window, nx=True)
                    pipe.incr(key)
                    pipe.ttl(key)
                got = await pipe.execute()
            counts = {
                kind: (int(got[3 * i + 1]), int(got[3 * i + 2])) for i, kind in enumerate(keys)
            }
            counts = self._with_local(keys, counts)
        except (RedisError, OSError) as exc:
            log.warning(
                "login limiter: Redis unreachable, counting locally", extra={"error": repr(exc)}
            )
            counts = self._count_locally(keys)
        waits = [max(ttl, 1) for kind, (count, ttl) in counts.items() if count > self.limits[kind]]
        return max(waits) if waits else None

    def _with_local(
        self, keys: dict[str, str], counts: dict[str, tuple[int, int]]
    ) -> dict[str, tuple[int, int]]:
        """Redis's counts plus what was counted here while Redis was away (until it expires)."""
        if not self._local:
            return counts
        now = time.monotonic()
        merged = dict(counts)
        for kind, key in keys.items():
            count, until = self._local.get(key, (0, now))
            if until <= now:
                self._local.pop(key, None)
                continue
            in_redis, ttl = counts[kind]
            merged[kind] = (in_redis + count, max(ttl, math.ceil(until - now)))
        return merged

    def _count_locally(self, keys: dict[str, str]) -> dict[str, tuple[int, int]]:
        now = time.monotonic()
        if len(self._local) > _LOCAL_MAX:  # many names tried during a long outage
            self._local = {k: v for k, v in self._local.items() if v[1] > now}
        counts = {}
        for kind, key in keys.items():
            count, until = self._local.get(key, (0, now))
            if until <= now:
                count, until = 0, now + self.window
            self._local[key] = (count + 1, until)
            counts[kind] = (count + 1, math.ceil(until - now))
        return counts

    async def succeeded(self, account: str, address: str) -> None:
        """The right password: forget the account's attempts; give the address this one back."""
        keys = self._keys(account, address)
        self._local.pop(keys["account"], None)
        try:
            async with asyncio.timeout(self.redis_timeout):
                await self.redis.delete(keys["account"])
                await self.redis.eval(_GIVE_BACK, 1, keys["address"])
        except (RedisError, OSError):  # OSError includes TimeoutError
            # Counted here, most likely: give it back here (never in both places).
            count, until = self._local.get(keys["address"], (0, 0.0))
            if count > 0:
                self._local[keys["address"]] = (count - 1, until)


# DECR only a count that still exists: a DECR on an expired key would create one with no TTL.
_GIVE_BACK = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end"
