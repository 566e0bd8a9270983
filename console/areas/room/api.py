"""Messages to the operations room: the first action that shows on every screen, live."""

from __future__ import annotations

from starlette.requests import Request

from console.areas.room import actions, schemas
from console.lib import services
from console.lib.api import operation
from dispatch import access


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
    return await actions.post_message(services.of(request).db, principal, body.body)
