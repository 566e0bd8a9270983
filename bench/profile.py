"""`--profile`: while each figure runs, py-spy samples the console instances and a task samples
what PostgreSQL's sessions wait on; both summaries go to the work directory and stderr.

- `profile-<figure>-console<i>.txt`: py-spy's collapsed stacks (`--format raw`); the summary
  lists the functions most often on CPU (own time) and on the stack (total time).
- `profile-<figure>-waits.txt`: counts of (state, wait_event_type, wait_event) over the
  console's sessions, sampled every 50 ms.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from bench.common import Run


def _py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def summarize_stacks(path: Path, top: int = 12) -> str:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    if not path.exists():
        return f"(no samples in {path})"
    for text in path.read_text(errors="replace").splitlines():
        stack, _, count = text.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return "(no samples)"
    lines = [f"{samples} samples; own time:"]
    lines += [f"  {100 * n / samples:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["on the stack:"]
    lines += [
        f"  {100 * n / samples:5.1f}%  {f}"
        for f, n in total.most_common(top * 3)
        if "site-packages" not in f or "uvicorn" in f or "asyncpg" in f
    ][:top]
    return "\n".join(lines)


async def _waits(dsn: str, out: dict[tuple[str, str, str], int], stop: asyncio.Event) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT state, coalesce(wait_event_type, 'CPU') AS t, coalesce(wait_event, '')"
                " AS e FROM pg_stat_activity WHERE application_name = 'seus-console'"
                " AND state <> 'idle'"
            )
            for row in rows:
                key = (row["state"], row["t"], row["e"])
                out[key] = out.get(key, 0) + 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def profiled(run: Run, figure: str, enabled: bool) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    spy = _py_spy()
    records: list[tuple[subprocess.Popen[bytes], Path]] = []
    for index, console in enumerate(run.consoles):
        path = run.stack.workdir / f"profile-{figure}-console{index}.txt"
        if spy:
            process = run.stack.popen(
                f"py-spy-{figure}-{index}",
                [spy, "record", "--pid", str(console.process.pid), "--rate", "200",
                 "--format", "raw", "--nonblocking", "--output", str(path)],
            )  # fmt: skip
            records.append((process, path))
    waits: dict[tuple[str, str, str], int] = {}
    stop = asyncio.Event()
    sampler = asyncio.create_task(_waits(run.dsn, waits, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(sampler, return_exceptions=True)
        for process, _path in records:
            process.send_signal(2)  # SIGINT: py-spy writes what it has
            await asyncio.to_thread(process.wait, 20)
        report = [f"== profile of {figure} =="]
        for _process, path in records:
            report += [f"-- {path.name}", summarize_stacks(path)]
        total = sum(waits.values()) or 1
        lines = [
            f"  {100 * n / total:5.1f}%  {s} / {t} / {e}"
            for (s, t, e), n in sorted(waits.items(), key=lambda kv: -kv[1])
        ]
        report += ["-- PostgreSQL sessions of the console, by wait (samples every 50 ms):", *lines]
        text = "\n".join(report)
        (run.stack.workdir / f"profile-{figure}.txt").write_text(text + "\n")
        print(text, file=sys.stderr)
