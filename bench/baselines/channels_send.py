"""Group sends from a separate process, no management command: the producer of the Channels
baseline. `python -m bench.baselines.channels_send COUNT WRITERS START TEMPLATE_FILE`
sends COUNT messages (the template with {i} replaced) to the group "room" from WRITERS
concurrent tasks, as fast as group_send returns; prints the elapsed seconds."""

from __future__ import annotations

import asyncio
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.baselines.channels_app.settings")

import django

django.setup()

from channels.layers import get_channel_layer  # noqa: E402


async def main(count: int, writers: int, start: int, template: str) -> None:
    layer = get_channel_layer()
    assert layer is not None
    numbers = iter(range(start, start + count))
    began = time.perf_counter()

    async def writer() -> None:
        for i in numbers:
            text = template.replace("{i}", str(i))
            await layer.group_send("room", {"type": "room.event", "text": text})

    await asyncio.gather(*(writer() for _ in range(writers)))
    print(f"{time.perf_counter() - began:.6f}", flush=True)


if __name__ == "__main__":
    with open(sys.argv[4], encoding="utf-8") as source:
        body = source.read()
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), body))
