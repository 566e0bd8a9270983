"""The room's writes: a message to the operations room."""

from __future__ import annotations

from console.areas.room.schemas import RoomMessage
from console.lib.db import Database
from dispatch import access, events


async def post_message(db: Database, by: access.Principal, body: str) -> RoomMessage:
    """A message every room screen shows live."""
    async with db.action() as tx:
        message_id: int = await tx.conn.fetchval(
            "INSERT INTO room_messages (body, author_id, posted_at) VALUES ($1, $2, $3)"
            " RETURNING id",
            body,
            by.user_id,
            tx.now,
        )
        tx.emit(events.room_message_posted(message_id, body, by))
    return RoomMessage(
        id=message_id, body=body, author=by.name, posted_at=tx.now, seq=tx.logged[0].seq
    )
