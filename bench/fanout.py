"""fanout_msgs_per_s: events delivered per second to N sockets, summed over the sockets.

Ours: N sockets of N logged-in operators on one instance (the baselines are one process too);
`writers` concurrent tasks of one operator post K room messages through
`POST /api/v1/room/messages` to that instance as fast as it commits them; every socket must
receive all K `room.message_posted` events.

Channels: the same N clients on a Django Channels consumer (uvicorn, channels_redis
RedisChannelLayer) that joins the group "room"; a separate process calls `group_send` K times
from `writers` concurrent tasks, each message the wire text of one of our room events.

Floor: the same N clients on the bare `websockets` server, which broadcasts the K messages
itself as fast as the clients' write buffers drain.

Rate = messages delivered (N x K) / (last arrival - first arrival), at the load generator.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx
from websockets.asyncio.client import connect

from bench import servers
from bench.common import Figure, Run, log_head, wire_of
from console.lib import auth

TEMPLATE_SUBJECT = "room_message:{i}"


LOSSES: dict[str, str] = {}


def _rate(run: Run, name: str, report: dict, n: int, k: int) -> float:
    """Delivered messages per second; every socket must have all K (ours, the floor). Channels'
    losses (consumers that fell over, messages its layer dropped) are a property of the
    alternative, not of the harness: reported in the note and on stderr, its rate counting only
    what was delivered."""
    complete = report["min"] == k and report["max"] == k and report["total"] == n * k
    problem = (
        f"fanout {name}: per socket {report['min']}..{report['max']} of {k},"
        f" {report['total']} of {n * k} delivered, {report['closed_count']} sockets closed:"
        f" {list(report['closed'].values())[:2]}"
    )
    if name == "channels" and not complete:
        LOSSES[name] = f"Channels delivered {report['total']} of {n * k} messages"
        print(f"bench: {problem}", file=sys.stderr)
    else:
        run.check(complete, problem)
    span = report["last"] - report["first"]
    return report["total"] / span if span > 0 else 0.0


async def _ours(run: Run) -> tuple[float, str]:
    n, k = run.sizes.fanout_sockets, run.sizes.fanout_events
    console = run.consoles[0]
    writer = run.operators[-1]
    gen = run.loadgen("loadgen-fanout")
    head = await log_head(run.dsn)
    answer = await gen.open(
        [run.ws_target(console, op, head) for op in run.operators[:n]], '"type": "live"'
    )
    run.check(answer["ready"] == n, f"fanout ours: {answer['ready']} of {n} sockets ready")
    first_id = 0
    async with httpx.AsyncClient(
        base_url=console.url,
        cookies={auth.SESSION_COOKIE: writer.cookie},
        headers={"X-CSRF-Token": writer.csrf},
        timeout=30,
    ) as client:
        numbers = iter(range(k))

        async def write() -> None:
            nonlocal first_id
            for i in numbers:
                answer = await client.post("/api/v1/room/messages", json={"body": f"fan-out {i}"})
                run.check(answer.status_code == 201, f"fanout ours: post {answer.status_code}")
                if i == 0:
                    first_id = answer.json()["id"]

        await asyncio.gather(*(write() for _ in range(run.sizes.writers)))
    report = await gen.expect(k, 120)
    await gen.quit()
    return _rate(run, "ours", report, n, k), f"room_message:{first_id}"


async def _channels(run: Run, template: str) -> float:
    n, k = run.sizes.fanout_sockets, run.sizes.fanout_events
    server = run.channels or servers.channels_server(
        run.stack, run.redis_url, f"{run.prefix}-channels"
    )
    gen = run.loadgen("loadgen-channels")
    try:
        answer = await gen.open([{"url": server.ws_url}] * n, '"type": "hello"')
        run.check(answer["ready"] == n, f"fanout channels: {answer['ready']} of {n} ready")
        path = run.stack.workdir / "channels-template.txt"
        path.write_text(template, encoding="utf-8")
        producer = run.stack.popen(
            "channels-send",
            [
                servers.PYTHON,
                "-m",
                "bench.baselines.channels_send",
                str(k),
                str(run.sizes.writers),
                "0",
                str(path),
            ],
            env={
                "BENCH_REDIS_URL": run.redis_url,
                "BENCH_CHANNELS_PREFIX": f"{run.prefix}-channels",
            },
        )
        await asyncio.to_thread(producer.wait, 120)
        report = await gen.expect(k, 120)
    finally:
        await gen.quit()
        # Measured: no need to wait out uvicorn's graceful shutdown of Channels (~5 s).
        servers.terminate(server.process, timeout=0.5)
    return _rate(run, "channels", report, n, k)


async def _floor(run: Run, template: str) -> float:
    n, k = run.sizes.fanout_sockets, run.sizes.fanout_events
    floor = run.floor("floor-fanout")
    gen = run.loadgen("loadgen-fanout-floor")
    try:
        answer = await gen.open([{"url": floor.ws_url}] * n, '"type": "hello"')
        run.check(answer["ready"] == n, f"fanout floor: {answer['ready']} of {n} ready")
        async with connect(f"ws://127.0.0.1:{floor.port}/control") as control:
            await control.send(json.dumps({"burst": k, "template": template}))
            await control.recv()
        report = await gen.expect(k, 120)
    finally:
        await gen.quit()
        servers.terminate(floor.process)
    return _rate(run, "floor", report, n, k)


async def measure(run: Run) -> list[Figure]:
    began = time.monotonic()
    ours, subject = await _ours(run)
    template = (await wire_of(run.dsn, subject)).replace(
        f'"subject": "{subject}"', f'"subject": "{TEMPLATE_SUBJECT}"', 1
    )
    run.check(TEMPLATE_SUBJECT in template, "fanout: no template subject")
    channels = await _channels(run, template)
    floor = await _floor(run, template)
    note = (
        f"{run.sizes.fanout_events} events to {run.sizes.fanout_sockets} sockets, one server"
        f" process each ({time.monotonic() - began:.0f} s)"
    )
    if LOSSES:
        note += "; " + "; ".join(LOSSES.values())
    return [
        Figure(
            "fanout_msgs_per_s_vs_channels",
            ours,
            channels,
            "msg/s",
            "ratio >= 3",
            ours >= 3 * channels,
            note,
        ),
        Figure(
            "fanout_msgs_per_s_vs_floor",
            ours,
            floor,
            "msg/s",
            "ratio >= 0.5",
            ours >= 0.5 * floor,
            note,
        ),
    ]
