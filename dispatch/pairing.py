"""Pairing a unit's tablet without typing its token: a short code, valid once and for a few
minutes, exchanged for a device token; and revoking a unit's tablets.

The console draws the randomness and reads the clock; this module shapes the code, judges an
exchange and names the events (audience: the admins' audit and the supervisors).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dispatch import access
from dispatch.events import NewEvent, actor_of

# 32 letters and digits nobody confuses when reading them aloud or off a screen: no I, O, 0, 1.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 8  # 40 bits: with a few minutes of life and a rate limit, beyond guessing


def code_from(draw: bytes) -> str:
    """A code from `LENGTH` random bytes (32 divides 256: every letter equally likely)."""
    if len(draw) < LENGTH:
        raise ValueError(f"need {LENGTH} random bytes")
    return "".join(ALPHABET[b % len(ALPHABET)] for b in draw[:LENGTH])


def grouped(code: str) -> str:
    """As shown and read aloud: "ABCD-EFGH"."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalised(typed: str) -> str:
    """What a person typed, as stored: capitals, without spaces or dashes."""
    return "".join(c for c in typed.upper() if c not in " -\t")


def well_formed(code: str) -> bool:
    return len(code) == LENGTH and all(c in ALPHABET for c in code)


class Refusal(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


REFUSAL_MESSAGES = {
    Refusal.UNKNOWN: "Codice di abbinamento non valido: controlla di averlo scritto bene.",
    Refusal.EXPIRED: "Codice di abbinamento scaduto: chiedi alla centrale un codice nuovo.",
    Refusal.USED: (
        "Codice di abbinamento già usato: ogni codice vale una volta sola."
        " Chiedi alla centrale un codice nuovo."
    ),
}


def judge(now: datetime, expires_at: datetime, used_at: datetime | None) -> Refusal | None:
    """Whether a known code may be exchanged now (None: yes)."""
    if used_at is not None:
        return Refusal.USED
    if now >= expires_at:
        return Refusal.EXPIRED
    return None


_AUDIENCE = frozenset({access.AUDIT, access.SUPERVISORS})


def code_issued(
    unit_id: int, unit_name: str, code_id: int, expires_at: datetime, by: access.Principal
) -> NewEvent:
    return NewEvent(
        type="device.pairing_code_issued",
        subject=f"unit:{unit_id}",
        audience=_AUDIENCE,
        payload={
            "unit_id": unit_id,
            "unit_name": unit_name,
            "code_id": code_id,
            "expires_at": expires_at.isoformat(),
            "by": by.name,
        },
        actor=actor_of(by),
    )


def device_paired(unit_id: int, unit_name: str, code_id: int, token_id: int) -> NewEvent:
    return NewEvent(
        type="device.paired",
        subject=f"unit:{unit_id}",
        audience=_AUDIENCE,
        payload={
            "unit_id": unit_id,
            "unit_name": unit_name,
            "code_id": code_id,
            "token_id": token_id,
        },
        actor=f"unit:{unit_id}",
    )


def pairing_refused(
    refusal: Refusal, address: str, unit_id: int | None = None, unit_name: str | None = None
) -> NewEvent:
    return NewEvent(
        type="device.pairing_refused",
        subject=f"unit:{unit_id}" if unit_id is not None else "pairing",
        audience=_AUDIENCE,
        payload={
            "unit_id": unit_id,
            "unit_name": unit_name,
            "reason": refusal.value,
            "address": address,
        },
        actor="system",
    )


def devices_revoked(
    unit_id: int,
    unit_name: str,
    token_ids: Sequence[int],
    sessions_ended: int,
    by: access.Principal,
    *,
    every: bool,
) -> NewEvent:
    """Every instance closes the unit's token-authenticated sockets when it sees this."""
    return NewEvent(
        type="device.revoked",
        subject=f"unit:{unit_id}",
        audience=_AUDIENCE,
        payload={
            "unit_id": unit_id,
            "unit_name": unit_name,
            "token_ids": list(token_ids),
            "every": every,
            "sessions_ended": sessions_ended,
            "by": by.name,
        },
        actor=actor_of(by),
    )


_REFUSAL_WORDS = {
    Refusal.UNKNOWN: "codice inesistente",
    Refusal.EXPIRED: "codice scaduto",
    Refusal.USED: "codice già usato",
}


def phrase(type_: str, payload: Mapping[str, Any], clock: str = "") -> str:
    """A pairing event as the audit trail reads it, in Italian (`clock`: the expiry, in Rome's
    time, for an issued code)."""
    unit = payload.get("unit_name") or "unità sconosciuta"
    by = payload.get("by") or "sistema"
    if type_ == "device.pairing_code_issued":
        return f"{unit}: codice di abbinamento generato da {by}" + (
            f", valido fino alle {clock}" if clock else ""
        )
    if type_ == "device.paired":
        return f"{unit}: tablet abbinato con un codice"
    if type_ == "device.pairing_refused":
        words = _REFUSAL_WORDS.get(Refusal(payload.get("reason", "unknown")), "rifiutato")
        where = f" da {payload['address']}" if payload.get("address") else ""
        if payload.get("unit_id") is None:
            return f"Abbinamento rifiutato: {words}{where}"
        return f"{unit}: abbinamento rifiutato, {words}{where}"
    if type_ == "device.revoked":
        ended = payload.get("sessions_ended") or 0
        tail = ""
        if ended:
            tail = " (1 sessione chiusa)" if ended == 1 else f" ({ended} sessioni chiuse)"
        if payload.get("every"):
            return f"{unit}: tutti i tablet revocati da {by}{tail}"
        return f"{unit}: un tablet revocato da {by}{tail}"
    return f"{unit}: {type_}"
