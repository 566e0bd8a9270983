"""ws_idle_kib: resident memory per idle authenticated socket.

The console instance's VmRSS (/proc/PID/status) before and after N sockets of N logged-in
operators (one session each) have connected and gone live, divided by N; the same for the bare
`websockets` server with N plain sockets. Both are warmed up first with a few sockets (opened
and closed) so that first-use allocations are not counted per socket.
"""

from __future__ import annotations

import asyncio

from bench import servers
from bench.common import Figure, Run, log_head

SETTLE = 0.5
WARM = 10


async def _measure(run: Run, pid: int, targets: list[dict], ready: str, name: str) -> float:
    warm = run.loadgen(f"loadgen-{name}-warm")
    answer = await warm.open(targets[:WARM], ready)
    run.check(answer["ready"] == WARM, f"ws_idle {name}: warm-up {answer}")
    await warm.quit()
    await asyncio.sleep(SETTLE)
    before = servers.rss_kib(pid)
    gen = run.loadgen(f"loadgen-{name}")
    answer = await gen.open(targets, ready)
    run.check(
        answer["ready"] == len(targets),
        f"ws_idle {name}: {answer['ready']} of {len(targets)} sockets ready: {answer['errors']}",
    )
    await asyncio.sleep(SETTLE)
    after = servers.rss_kib(pid)
    await gen.quit()
    return (after - before) / len(targets)


async def measure(run: Run) -> list[Figure]:
    n = run.sizes.ws_idle_sockets
    console = run.consoles[0]
    head = await log_head(run.dsn)
    ours = await _measure(
        run,
        console.process.pid,
        [run.ws_target(console, op, head) for op in run.operators[:n]],
        '"type": "live"',
        "ours",
    )
    floor = run.floor("floor-memory")
    base = await _measure(
        run, floor.process.pid, [{"url": floor.ws_url}] * n, '"type": "hello"', "floor"
    )
    servers.terminate(floor.process)
    return [
        Figure(
            "ws_idle_kib",
            ours,
            base,
            "KiB",
            "ratio <= 2",
            ours <= 2 * base,
            f"{n} idle sockets on one instance",
        )
    ]
