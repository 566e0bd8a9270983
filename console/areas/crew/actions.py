"""Setting a unit's crew and phone."""

from __future__ import annotations

from console.areas.crew.schemas import CrewMember, UnitCrew
from console.lib import errors
from console.lib.db import Database
from dispatch import access, crew

CREW_ROLES = ("operator", "supervisor", "admin")  # people; not device, referrer or zone accounts


async def set_crew(
    db: Database,
    by: access.Principal,
    unit_id: int,
    members: list[tuple[int | None, str | None]],
    phone: str,
) -> UnitCrew:
    """Set a unit's crew (users of the console or volunteers' names) and phone; every problem
    is refused by field, in Italian. The room and the unit hear of a change."""
    async with db.action() as tx:
        unit = await tx.conn.fetchrow(
            "SELECT id, name, crew, phone FROM units WHERE id = $1 FOR UPDATE", unit_id
        )
        if unit is None:
            raise errors.NotFound("Unità non trovata.")
        wanted = [u for u, _ in members if u is not None]
        rows = await tx.conn.fetch(
            "SELECT id, display_name FROM users WHERE id = ANY($1::bigint[]) AND active"
            " AND role = ANY($2::text[])",
            wanted,
            list(CREW_ROLES),
        )
        found, problems = crew.crew_problems(members, {r["id"]: r["display_name"] for r in rows})
        phone = crew.normalised_phone(phone)
        wrong = crew.phone_problem(phone)
        if wrong:
            problems.append(("phone", wrong))
        if problems:
            raise errors.ValidationFailed(
                "Equipaggio non salvato: correggi i campi segnalati.",
                problems=[errors.FieldProblem(f, m, "crew_rule") for f, m in problems],
            )
        saved = [m.payload() for m in found]
        if saved != unit["crew"] or phone != unit["phone"]:
            await tx.conn.execute(
                "UPDATE units SET crew = $2, phone = $3 WHERE id = $1", unit_id, saved, phone
            )
            tx.emit(crew.unit_crew_changed(unit_id, unit["name"], found, phone, by))
    return UnitCrew(
        unit_id=unit_id,
        unit_name=unit["name"],
        crew=[CrewMember(name=m.name, user_id=m.user_id) for m in found],
        phone=phone,
    )
