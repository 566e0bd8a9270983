"""The websocket protocol uvicorn serves `/ws` with: uvicorn's own, plus letting go of readers
that stopped reading.

When the app ends a socket whose client stopped reading (closed as too slow, 4008), the close
frame cannot be written: the transport's buffer is full and uvicorn waits for it to drain
before sending, then closes gracefully, which waits for the drain too; and even a plain close
of the file descriptor leaves the kernel trying to deliver its buffered megabytes to a zero
window. A client that never reads again would keep its connection and buffers on the server
for ever. Here, once the app is done with such a socket, the connection is reset (SO_LINGER 0,
then abort): the kernel frees it at once, the client sees it drop and resumes after its last
seq (docs/live-protocol.md), which loses nothing.
"""

from __future__ import annotations

import contextlib
import socket
import struct

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # struct linger {l_onoff = 1, l_linger = 0}


class WebSocketProtocol(WebSocketsSansIOProtocol):
    async def run_asgi(self) -> None:
        await super().run_asgi()
        if not self.writable.is_set():  # writing paused: the client is not reading
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
            self.transport.abort()
