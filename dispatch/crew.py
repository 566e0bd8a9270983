"""A field unit's crew and phone: the rules an edit meets, with messages in Italian.

A crew member is a user of the console (their display name) or a name typed for a volunteer
without an account. The console checks the accounts; this module decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dispatch import access
from dispatch.events import NewEvent, actor_of

MAX_CREW = 8
NAME_MAX = 120
PHONE_MAX = 30
_PHONE = re.compile(r"\+?[0-9]+(?: [0-9]+)*")
PHONE_MIN_DIGITS = 6
PHONE_MAX_DIGITS = 15  # E.164 at most


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    user_id: int | None = None  # an account of the console, or None (a volunteer)

    def payload(self) -> dict[str, Any]:
        return {"name": self.name, "user_id": self.user_id}


def normalised_phone(phone: str) -> str:
    """Spaces collapsed: "+39  333 000 0001 " -> "+39 333 000 0001"."""
    return " ".join(phone.split())


def phone_problem(phone: str) -> str | None:
    """Why a phone number is refused (empty: no phone), in Italian."""
    if not phone:
        return None
    if len(phone) > PHONE_MAX:
        return f"Al massimo {PHONE_MAX} caratteri."
    digits = sum(c.isdigit() for c in phone)
    if not _PHONE.fullmatch(phone) or not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
        return (
            "Numero non valido: solo cifre e spazi, con il + iniziale per il prefisso"
            " (es. +39 333 000 0001)."
        )
    return None


def crew_problems(
    members: Sequence[tuple[int | None, str | None]], accounts: Mapping[int, str]
) -> tuple[list[Member], list[tuple[str, str]]]:
    """The crew as (user id, typed name) pairs checked against the active `accounts`
    (id -> display name): the members, and the problems as (field, Italian message)."""
    found: list[Member] = []
    problems: list[tuple[str, str]] = []
    if len(members) > MAX_CREW:
        problems.append(("crew", f"Al massimo {MAX_CREW} persone per equipaggio."))
    seen_users: set[int] = set()
    seen_names: set[str] = set()
    for index, (user_id, typed) in enumerate(members):
        name = " ".join((typed or "").split())
        if user_id is not None and name:
            problems.append(
                (f"crew.{index}", "Scegli un utente oppure scrivi un nome, non entrambi.")
            )
            continue
        if user_id is not None:
            if user_id not in accounts:
                problems.append((f"crew.{index}.user_id", "Utente inesistente o non attivo."))
                continue
            if user_id in seen_users:
                problems.append((f"crew.{index}.user_id", "Persona già nell'equipaggio."))
                continue
            seen_users.add(user_id)
            found.append(Member(accounts[user_id], user_id))
            continue
        if not name:
            problems.append((f"crew.{index}.name", "Scrivi il nome o scegli un utente."))
        elif len(name) > NAME_MAX:
            problems.append((f"crew.{index}.name", f"Al massimo {NAME_MAX} caratteri."))
        elif name.casefold() in seen_names:
            problems.append((f"crew.{index}.name", "Persona già nell'equipaggio."))
        else:
            seen_names.add(name.casefold())
            found.append(Member(name))
    return found, problems


def unit_crew_changed(
    unit_id: int, unit_name: str, crew: Sequence[Member], phone: str, by: access.Principal
) -> NewEvent:
    """To the room and the unit itself: who is on board and how to call them."""
    return NewEvent(
        type="unit.crew_changed",
        subject=f"unit:{unit_id}",
        audience=frozenset({access.ROOM, access.unit_tag(unit_id)}),
        payload={
            "unit_id": unit_id,
            "unit_name": unit_name,
            "crew": [m.payload() for m in crew],
            "phone": phone,
            "by": by.name,
        },
        actor=actor_of(by),
    )
