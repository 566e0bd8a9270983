"""Login attempt limits, per account and per client address, counted in Redis.

If Redis cannot be reached the limiter does not fail open: it counts in this process instead
(a local fallback with the same limits), so brute force stays bounded during an outage.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("seus.ratelimit")


class LoginLimiter:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str,
        per_account: int,
        per_address: int,
        window: timedelta,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limits = {"account": per_account, "address": per_address}
        self.window = max(1, int(window.total_seconds()))
        self._local: dict[str, tuple[int, float]] = {}  # key -> (count, window end)

    def _keys(self, account: str, address: str) -> dict[str, str]:
        return {
            "account": f"{self.prefix}:login:account:{account.strip().lower()}",
            "address": f"{self.prefix}:login:address:{address}",
        }

    async def retry_after(self, account: str, address: str) -> int | None:
        """Seconds to wait when either limit is reached, else None."""
        keys = self._keys(account, address)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys.values():
                    pipe.get(key)
                    pipe.ttl(key)
                got = await pipe.execute()
            counts = {
                kind: (int(got[2 * i] or 0), int(got[2 * i + 1])) for i, kind in enumerate(keys)
            }
        except (RedisError, OSError) as exc:
            log.warning(
                "login limiter: Redis unreachable, counting locally", extra={"error": repr(exc)}
            )
            now = time.monotonic()
            counts = {}
            for kind, key in keys.items():
                count, until = self._local.get(key, (0, now))
                counts[kind] = (count, int(until - now)) if until > now else (0, -2)
        waits = [max(ttl, 1) for kind, (count, ttl) in counts.items() if count >= self.limits[kind]]
        return max(waits) if waits else None

    async def failed(self, account: str, address: str) -> None:
        keys = self._keys(account, address)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in keys.values():
                    pipe.incr(key)
                    pipe.expire(key, self.window, nx=True)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning(
                "login limiter: Redis unreachable, counting locally", extra={"error": repr(exc)}
            )
            now = time.monotonic()
            for key in keys.values():
                count, until = self._local.get(key, (0, now))
                if until <= now:
                    count, until = 0, now + self.window
                self._local[key] = (count + 1, until)

    async def succeeded(self, account: str) -> None:
        key = self._keys(account, "")["account"]
        self._local.pop(key, None)
        try:
            await self.redis.delete(key)
        except (RedisError, OSError):
            pass
