"""Messages to the operations room: the first action that shows on every screen, live."""

from __future__ import annotations

from starlette.requests import Request

from console.areas.room import schemas
from console.lib import services
from console.lib.api import operation
from dispatch import access, events


@operation(
    "POST",
    "/api/v1/room/messages",
    summary="Post a message to the operations room",
    body=schemas.RoomMessageIn,
    response=schemas.RoomMessage,
    status=201,
    permission=access.Permission.POST_ROOM_MESSAGE,
    tag="room",
    example={"body": "Allerta meteo arancione su Firenze dalle 14: verificare posti letto."},
)
async def post_room_message(
    request: Request, principal: access.Principal, body: schemas.RoomMessageIn, _: None
) -> schemas.RoomMessage:
    async with services.of(request).db.action() as tx:
        message_id: int = await tx.conn.fetchval(
            "INSERT INTO room_messages (body, author_id, posted_at) VALUES ($1, $2, $3)"
            " RETURNING id",
            body.body,
            principal.user_id,
            tx.now,
        )
        tx.emit(events.room_message_posted(message_id, body.body, principal))
    return schemas.RoomMessage(
        id=message_id,
        body=body.body,
        author=principal.name,
        posted_at=tx.now,
        seq=tx.logged[0].seq,
    )
