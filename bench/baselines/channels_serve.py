"""Serve the Channels project with uvicorn as run.py serves the console (no access log, no
uvicorn pings: the comparison is of the fan-out, not of keepalive settings).
`python -m bench.baselines.channels_serve PORT`"""

from __future__ import annotations

import sys

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "bench.baselines.channels_app.asgi:application",
        host="127.0.0.1",
        port=int(sys.argv[1]),
        access_log=False,
        log_level="warning",
        ws_ping_interval=None,
    )
