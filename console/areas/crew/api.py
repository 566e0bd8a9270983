"""Crews over JSON: set a unit's crew and phone; who may be on a crew."""

from __future__ import annotations

from starlette.requests import Request

from console.areas.crew.actions import CREW_ROLES, set_crew
from console.areas.crew.schemas import CrewCandidate, CrewCandidates, CrewIn, UnitCrew
from console.lib import services
from console.lib.api import operation, path_id
from dispatch import access
from dispatch.access import ROLE_LABELS

EDIT = access.Permission.EDIT_UNITS


@operation(
    "PUT",
    "/api/v1/units/{id}/crew",
    summary="Set a unit's crew and phone (admins)",
    body=CrewIn,
    response=UnitCrew,
    permission=EDIT,
    errors=(403, 404, 422),
    tag="units",
    example={
        "crew": [{"user_id": None, "name": "Giulia Bianchi (demo)"}],
        "phone": "+39 333 000 0001",
    },
    description="Each member is a user of the console (`user_id`: an active operator, "
    "supervisor or admin, shown by their name) or a volunteer's `name` (at most 120 "
    "characters), not both; at most 8 people, nobody twice. `phone`: digits and spaces, a "
    "leading + for the prefix, 6 to 15 digits, or empty. 422 names every wrong field with an "
    "Italian message (`crew.0.name`, `crew.1.user_id`, `phone`). Emits `unit.crew_changed` "
    "to the room and the unit.",
)
async def put_crew(
    request: Request, principal: access.Principal, body: CrewIn, _: None
) -> UnitCrew:
    members = [(m.user_id, m.name) for m in body.crew]
    db = services.of(request).db
    return await set_crew(db, principal, path_id(request), members, body.phone)


@operation(
    "GET",
    "/api/v1/units/crew-candidates",
    summary="The users who may be on a unit's crew (admins)",
    response=CrewCandidates,
    permission=EDIT,
    errors=(403,),
    tag="units",
)
async def get_crew_candidates(
    request: Request, principal: access.Principal, _: None, __: None
) -> CrewCandidates:
    rows = await services.of(request).db.pool.fetch(
        "SELECT id, display_name, role FROM users WHERE active AND role = ANY($1::text[])"
        " ORDER BY display_name, id",
        list(CREW_ROLES),
    )
    return CrewCandidates(
        users=[
            CrewCandidate(
                id=r["id"],
                name=r["display_name"],
                role_label=ROLE_LABELS[access.Role(r["role"])],
            )
            for r in rows
        ]
    )
