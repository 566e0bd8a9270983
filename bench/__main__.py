"""`python -m bench [--quick]`: start everything, measure every figure against its baseline,
print one line per figure, write the table to docs/benchmarks.md, stop everything.

Each line is exactly `figure: NAME ours=X baseline=Y unit=U ratio=R` (ratio = ours/baseline,
`n/a` when the baseline is 0). The exit status is non-zero when a sanity check fails (every
figure printed exactly once, nothing lost, every count delivered, resume in order, every clock
fired exactly once each way, no child left running); timings are never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import platform
import re
import resource
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    e2e,
    fanout,
    intake,
    map_page,
    point_zone,
    queue_page,
    resume,
    search,
    servers,
    stats,
    timers,
    ws_memory,
)
from bench.common import FULL, QUICK, Figure, Operator, Run, quiesce, seed_operators
from bench.profile import profiled
from tests.support import Person, seed_people

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"

FIGURES: dict[str, Callable[[Run], Awaitable[list[Figure]]]] = {
    "ws_memory": ws_memory.measure,  # first: the instance's memory before anything else ran
    "e2e": e2e.measure,
    "fanout": fanout.measure,
    "intake": intake.measure,
    "resume": resume.measure,
    "queue_page": queue_page.measure,
    "search": search.measure,
    "point_zone": point_zone.measure,
    "map_paint": map_page.measure_paint,
    "map_fps": map_page.measure_fps,
    "timers": timers.measure,
}
# The figures whose baseline is a bare `websockets` server, and that server's name.
FLOORS = {"e2e": "floor-e2e", "fanout": "floor-fanout", "ws_memory": "floor-memory"}

# The load generator processes each figure uses, started with the instances.
LOADGENS = {
    "ws_memory": ["loadgen-ours-warm", "loadgen-ours", "loadgen-floor-warm", "loadgen-floor"],
    "e2e": ["loadgen-e2e", "loadgen-e2e-floor"],
    "fanout": ["loadgen-fanout", "loadgen-channels", "loadgen-fanout-floor"],
}

NAMES = {
    "ws_memory": ["ws_idle_kib"],
    "e2e": ["e2e_p99_ms"],
    "fanout": ["fanout_msgs_per_s_vs_channels", "fanout_msgs_per_s_vs_floor"],
    "intake": ["intake_per_s", "intake_lost"],
    "resume": ["resume_ms"],
    "queue_page": ["queue_page_p95_ms"],
    "search": ["search_p95_ms"],
    "point_zone": ["point_to_zone_p99_us"],
    "map_paint": ["map_first_paint_ms"],
    "map_fps": ["map_fps"],
    "timers": ["timer_lateness_p99_ms"],
}
LINE = re.compile(r"^figure: [a-z0-9_]+ ours=\S+ baseline=\S+ unit=\S+ ratio=\S+$")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (under 60 s on 2 cores)")
    parser.add_argument(
        "--only", nargs="+", choices=list(FIGURES), help="measure only these (development)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a PostgreSQL server to use (a fresh database is made on it)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="a Redis to use (keys under a fresh prefix)",
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--output", type=Path, default=DOC, help="the markdown file to update")
    parser.add_argument("--no-doc", action="store_true", help="do not write the markdown file")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the instances and sample PostgreSQL waits"
    )
    parser.add_argument("--note", default="", help="a remark written with the table")
    return parser.parse_args(argv)


def line(figure: Figure) -> str:
    r = stats.ratio(figure.ours, figure.baseline)
    return (
        f"figure: {figure.name} ours={stats.fmt(figure.ours)} baseline={stats.fmt(figure.baseline)}"
        f" unit={figure.unit} ratio={stats.fmt(r)}"
    )


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def machine(pg: str, redis: str) -> list[tuple[str, str]]:
    cpu = "?"
    for text in Path("/proc/cpuinfo").read_text().splitlines():
        if text.startswith("model name"):
            cpu = text.split(":", 1)[1].strip()
            break
    mem = "?"
    for text in Path("/proc/meminfo").read_text().splitlines():
        if text.startswith("MemTotal"):
            mem = f"{int(text.split()[1]) / 1024 / 1024:.1f} GiB"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("CPU", cpu),
        ("cores", str(os.cpu_count())),
        ("RAM", mem),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("PostgreSQL", pg),
        ("Redis", redis),
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("load average at start", load),
    ]


def table(
    figures: list[Figure], described: list[tuple[str, str]], args: argparse.Namespace, wall: float
) -> str:
    mode = "quick" if args.quick else "full"
    rows = [
        f"Run: `scripts/bench{' --quick' if args.quick else ''}` ({mode} sizes), {wall:.0f} s"
        " wall time.",
        "",
    ]
    if args.note:
        rows += [f"**{args.note}**", ""]
    rows += ["| machine | |", "| --- | --- |"]
    rows += [f"| {k} | {v} |" for k, v in described]
    rows += [
        "",
        "| figure | ours | baseline | unit | ratio | target | met? |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        met = "yes" if f.met else "no" if f.met is not None else ""
        r = stats.fmt(stats.ratio(f.ours, f.baseline))
        rows.append(
            f"| `{f.name}` | {stats.fmt(f.ours)} | {stats.fmt(f.baseline)} | {f.unit} | {r}"
            f" | {f.target} | {met} |"
        )
    rows += ["", "Notes per figure:", ""]
    rows += [f"- `{f.name}`: {f.note}" for f in figures if f.note]
    return "\n".join(rows)


def write_doc(path: Path, mode: str, block: str) -> None:
    begin, end = f"<!-- bench:{mode}:begin -->", f"<!-- bench:{mode}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    content = f"{begin}\n{block}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + content + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n## Latest {mode} run\n\n{content}\n"
    path.write_text(text, encoding="utf-8")


async def measure(run: Run, selected: list[str], profile: bool) -> None:
    try:
        await _measure(run, selected, profile)
    except asyncio.CancelledError:  # Ctrl-C or SIGTERM: unblock the threads waiting on children
        run.stack.interrupt_children()
        raise


async def _measure(run: Run, selected: list[str], profile: bool) -> None:
    import asyncpg

    for name in selected:
        began = time.monotonic()
        conn = await asyncpg.connect(run.dsn)
        try:
            await quiesce(conn)
        finally:
            await conn.close()
        try:
            async with profiled(run, name, profile):
                found = await FIGURES[name](run)
        except Exception as exc:
            run.problems.append(f"{name}: failed with {exc!r}")
            import traceback

            traceback.print_exc()
            found = []
        run.figures.extend(found)
        for figure in found:
            print(line(figure), flush=True)
            if figure.note:
                print(f"bench: {figure.name}: {figure.note}", file=sys.stderr, flush=True)
        print(f"bench: {name} took {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = QUICK if args.quick else FULL
    selected = args.only or list(FIGURES)
    raise_nofile()
    servers.interruptible()
    stack = servers.Stack(args.workdir)
    started = time.monotonic()
    run: Run | None = None
    described: list[tuple[str, str]] = []
    try:
        admin, dsn = servers.postgres(stack, args.database_url)
        redis_url = servers.redis(stack, args.redis_url)
        _steps(started)("PostgreSQL and Redis up")
        described = machine(servers.postgres_version(admin), servers.redis_version(redis_url))
        print("bench: " + "; ".join(f"{k} {v}" for k, v in described), file=sys.stderr)
        step = _steps(started)
        asyncio.run(_prepare(dsn))
        step("migrated")
        prefix = f"seus-bench-{uuid.uuid4().hex[:8]}"
        env = {
            "DATABASE_URL": dsn,
            "REDIS_URL": redis_url,
            "SEUS_REDIS_PREFIX": prefix,
            # resume_ms measures a real backfill, never a snapshot (docs/live-protocol.md)
            "SEUS_BACKFILL_LIMIT": str(max(1000, sizes.resume_events * 10)),
        }
        # The instances start while the people are seeded (argon2 hashes are slow on purpose).
        loadgens = {
            name: servers.LoadGen(stack, name)
            for figure, names in LOADGENS.items()
            if figure in selected
            for name in names
        }
        # So does the Channels baseline (Django's start-up is slow), idle until the fan-out.
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            starting = pool.submit(servers.consoles, stack, env, 2)
            channels = (
                pool.submit(servers.channels_server, stack, redis_url, f"{prefix}-channels")
                if "fanout" in selected
                else None
            )
            floors = {
                name: pool.submit(servers.floor_server, stack, name)
                for figure, name in FLOORS.items()
                if figure in selected
            }
            people, operators, referrer_id = asyncio.run(_seed(dsn, sizes.operators))
            step("seeded")
            consoles = starting.result()
        print(f"bench: set up in {time.monotonic() - started:.1f} s", file=sys.stderr)
        run = Run(
            stack,
            sizes,
            args.quick,
            dsn,
            redis_url,
            prefix,
            consoles,
            people,
            operators,
            referrer_id,
            channels=channels.result() if channels else None,
            floors={name: started.result() for name, started in floors.items()},
            loadgens=loadgens,
        )
        asyncio.run(measure(run, selected, args.profile))
    except KeyboardInterrupt:
        print("bench: interrupted; stopping what was started", file=sys.stderr)
        return 130
    finally:
        stack.close()
    wall = time.monotonic() - started
    problems = list(run.problems)
    left = stack.leftovers()
    if left:
        problems.append(f"still running after the run: {', '.join(left)}")
    printed = [line(f) for f in run.figures]
    expected = [n for name in selected for n in NAMES[name]]
    names = [f.name for f in run.figures]
    if sorted(names) != sorted(expected):
        problems.append(f"figures printed {names}, expected each of {expected} once")
    if any(not LINE.match(text) for text in printed):
        problems.append("a figure line is not in the expected format")
    for f in run.figures:
        if f.name == "intake_lost" and f.ours != 0:
            problems.append(f"intake lost {f.ours:g} referrals")
    print(f"bench: wall time {wall:.1f} s", file=sys.stderr)
    if not args.no_doc and not args.only:
        block = table(run.figures, described, args, wall)
        write_doc(args.output, "quick" if args.quick else "full", block)
        print(f"bench: wrote {args.output}", file=sys.stderr)
    for problem in problems:
        print(f"bench: SANITY: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _steps(started: float) -> Callable[[str], None]:
    def step(what: str) -> None:
        print(f"bench: {what} at {time.monotonic() - started:.1f} s", file=sys.stderr)

    return step


async def _prepare(dsn: str) -> None:
    """What run.py does before serving: migrate, geography, policies."""
    from console.lib.config import Settings
    from run import prepare

    await prepare(Settings(database_url=dsn), False)


async def _seed(dsn: str, count: int) -> tuple[dict[str, Person], list[Operator], int]:
    """tests/support.py's people (the referrer's API key among them) and `count` operators with
    a session each."""
    import asyncpg

    people = await seed_people(dsn)
    operators = await seed_operators(dsn, count)
    conn = await asyncpg.connect(dsn)
    try:
        referrer_id: int = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
    finally:
        await conn.close()
    return people, operators, referrer_id


if __name__ == "__main__":
    sys.exit(main())
