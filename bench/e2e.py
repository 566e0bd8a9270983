"""e2e_p99_ms: a referral accepted through the API until every one of N consoles has it.

Ours: N sockets of N logged-in operators (a session each: every socket is another operator's
screen), half on each of two instances. The orchestrator posts referrals at a steady rate
through `POST /api/v1/referrals` (referrer Bearer key, a fresh Idempotency-Key each),
alternating the two instances; the load generator (another process) stamps each socket's
arrival of that referral's `referral.received` event. Latency of one referral = the last of
the N arrivals minus the moment its 201 (the commit) came back; p99 over the run.

Baseline (the floor): the bare `websockets` server with the same N clients; the orchestrator
sends it the same wire message (a real `referral.received` event of this run) at the same
rate over a control socket, the server broadcasts it and answers `ok`; latency = last arrival
minus that answer.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
from websockets.asyncio.client import connect

from bench import servers, stats
from bench.common import Figure, Run, log_head, referral_body, wire_of

WARMUP = 5


async def _post(client: httpx.AsyncClient, key: str, description: str) -> tuple[float, int]:
    answer = await client.post(
        "/api/v1/referrals",
        json=referral_body(description),
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex},
    )
    if answer.status_code != 201:
        raise RuntimeError(f"referral refused: {answer.status_code} {answer.text[:200]}")
    return time.time(), int(answer.json()["id"])


async def _steady(count: int, rate: float, send: object) -> list[tuple[float, float, str]]:
    """Call `send(i)` at t0 + i/rate (each in its own task); [(sent, acknowledged, key)]."""
    began = time.monotonic()
    results: list[tuple[float, float, str]] = []

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        sent = time.time()
        acked, key = await send(i)  # type: ignore[operator]
        results.append((sent, acked, key))

    await asyncio.gather(*(one(i) for i in range(count)))
    return results


def _latencies(run: Run, name: str, results: list, keys: dict, sockets: int) -> list[float]:
    latencies = []
    for _sent, acked, key in results:
        got = keys.get(key)
        run.check(
            got is not None and got[0] == sockets,
            f"e2e {name}: {key} reached {got[0] if got else 0} of {sockets} sockets",
        )
        if got is not None:
            latencies.append((got[2] - acked) * 1000)
    return latencies


async def _ours(run: Run, count: int) -> tuple[list[float], str]:
    n = run.sizes.e2e_sockets
    a, b = run.consoles[0], run.consoles[1]
    head = await log_head(run.dsn)
    targets = [
        run.ws_target(a if i % 2 == 0 else b, op, head) for i, op in enumerate(run.operators[:n])
    ]
    gen = run.loadgen("loadgen-e2e")
    answer = await gen.open(targets, '"type": "live"')
    run.check(answer["ready"] == n, f"e2e ours: {answer['ready']} of {n} sockets: {answer}")
    clients = [a.client(), b.client()]
    try:

        async def send(i: int) -> tuple[float, str]:
            acked, rid = await _post(clients[i % 2], run.referrer_key, f"e2e {run.tag} {i}")
            return acked, f"referral:{rid}"

        await _steady(WARMUP, run.sizes.e2e_rate, send)
        await gen.expect(WARMUP, 30)
        await gen.reset()
        results = await _steady(count, run.sizes.e2e_rate, send)
        report = await gen.expect(count, 60)
    finally:
        for client in clients:
            await client.aclose()
        await gen.quit()
    run.check(report["min"] == count, f"e2e ours: a socket got {report['min']} of {count}")
    first_key = results[0][2]
    return _latencies(run, "ours", results, report["keys"], n), first_key


async def _floor(run: Run, count: int, wire: str, key: str) -> list[float]:
    n = run.sizes.e2e_sockets
    floor = run.floor("floor-e2e")
    gen = run.loadgen("loadgen-e2e-floor")
    answer = await gen.open([{"url": floor.ws_url}] * n, '"type": "hello"')
    run.check(answer["ready"] == n, f"e2e floor: {answer['ready']} of {n} sockets")
    lock = asyncio.Lock()
    try:
        async with connect(f"ws://127.0.0.1:{floor.port}/control") as control:

            async def send(i: int) -> tuple[float, str]:
                fake = f"referral:floor{i}"
                async with lock:  # one control socket: requests and answers in turn
                    await control.send(json.dumps({"payload": wire.replace(key, fake, 1)}))
                    await control.recv()
                    return time.time(), fake

            await _steady(WARMUP, run.sizes.e2e_rate, send)
            await gen.expect(WARMUP, 30)
            await gen.reset()
            results = await _steady(count, run.sizes.e2e_rate, send)
            report = await gen.expect(count, 60)
    finally:
        await gen.quit()
        servers.terminate(floor.process)
    return _latencies(run, "floor", results, report["keys"], n)


async def measure(run: Run) -> list[Figure]:
    count = int(run.sizes.e2e_rate * run.sizes.e2e_seconds)
    ours, key = await _ours(run, count)
    wire = await wire_of(run.dsn, key)
    floor = await _floor(run, count, wire, key)
    p_ours = stats.percentile(ours, 99)
    p_floor = stats.percentile(floor, 99)
    return [
        Figure(
            "e2e_p99_ms",
            p_ours,
            p_floor,
            "ms",
            "ratio <= 2",
            p_ours <= 2 * p_floor,
            f"{count} referrals at {run.sizes.e2e_rate:g}/s to {run.sizes.e2e_sockets} sockets"
            f" on 2 instances; p50 ours {stats.percentile(ours, 50):.1f} ms,"
            f" floor {stats.percentile(floor, 50):.1f} ms",
        )
    ]
