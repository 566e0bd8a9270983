"""The timers' baseline: one asyncio task per deadline, sleeping until it.

`python -m bench.baselines.sleepers SCHEDULE.json` where the file holds
`{"due": [unix times...]}`; prints `{"count": n, "lateness_ms": [...]}` (sorted) once every
task woke up. Lateness = time.time() at wake-up minus the due time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def main(due: list[float]) -> list[float]:
    lateness: list[float] = []

    async def sleeper(at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        lateness.append((time.time() - at) * 1000)

    await asyncio.gather(*(sleeper(at) for at in due))
    return sorted(lateness)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as source:
        schedule = json.load(source)
    found = asyncio.run(main(schedule["due"]))
    print(json.dumps({"count": len(found), "lateness_ms": found}))
