"""An SLA policy as an administrator edits it: what they type read into the stored form, and
what changed between two versions, said in Italian.

Warnings are typed as a fraction with a comma or a point ("0,5", "0.5") or as a percentage
("50%", "50 %"); they are stored as the fraction, strictly between 0 and 1. Duration targets
are stored in seconds and shown as hours and minutes. A policy's versions are compared as the
API shows them (`PolicyOut` as JSON)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from dispatch import sla
from dispatch.referrals import URGENCIES

RULE_FIELDS = ("starts_on", "stops_on", "cancels_on", "pauses_on", "resumes_on")


@dataclass(frozen=True, slots=True)
class Refused:
    """A value that cannot be read, and why (Italian, for the field)."""

    message: str


_NUMBER = re.compile(r"^([0-9]{1,6}(?:[.,][0-9]{1,6})?|[.,][0-9]{1,6})$")

FRACTION_RANGE = "La soglia deve stare tra 0 e 1 esclusi (tra 0% e 100%): es. 0,5 o 50%."


def fraction(typed: str | float) -> float | Refused:
    """A warning threshold as typed ("0,5", "0.5", "50%", "50 %", or a number) as the fraction
    of the target it stands for, or why not. Only values strictly between 0 and 1 pass."""
    if isinstance(typed, bool):
        return Refused("Scrivere un numero: una frazione (0,5) o una percentuale (50%).")
    if isinstance(typed, int | float):
        value = Decimal(str(typed))
    else:
        text = typed.strip().replace(" ", "").replace("\u00a0", "")
        if not text:
            return Refused("Indicare la soglia: una frazione (0,5) o una percentuale (50%).")
        percent = text.endswith("%")
        number = text.removesuffix("%")
        if not _NUMBER.match(number):
            return Refused("Non è un numero: scrivere una frazione (0,5) o una percentuale (50%).")
        try:
            value = Decimal(number.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return Refused("Non è un numero.")
        if percent:
            value /= 100
    if not 0 < value < 1:
        return Refused(FRACTION_RANGE)
    return float(value)


def said_fraction(value: float) -> str:
    """A fraction as an Italian decimal: 0.5 -> "0,5"."""
    return f"{value:g}".replace(".", ",")


def said_percent(value: float) -> str:
    """A fraction as an Italian percentage: 0.5 -> "50 %", 0.125 -> "12,5 %"."""
    return f"{round(value * 100, 2):g}".replace(".", ",") + " %"


def hours_minutes(seconds: int) -> tuple[int, int, int]:
    """Seconds as whole hours, minutes and the seconds left over: 9000 -> (2, 30, 0)."""
    hours, rest = divmod(seconds, 3600)
    minutes, left = divmod(rest, 60)
    return hours, minutes, left


def said_duration(seconds: int) -> str:
    """A duration target in Italian: "2 h 30 min", "5 min", "24 h", "2 s"."""
    hours, minutes, left = hours_minutes(seconds)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{left} s" if left else "")
    return " ".join(p for p in parts if p) or "0 min"


def said_target(target: Mapping[str, Any] | None) -> str:
    """A target as the API shows it ({"seconds"} or {"working_days"}), in Italian."""
    if not target:
        return "nessuno"
    if target.get("working_days"):
        days = int(target["working_days"])
        return "fine del giorno lavorativo successivo" if days == 1 else (
            f"fine del {days}° giorno lavorativo successivo")  # fmt: skip
    return said_duration(int(target.get("seconds") or 0))


CALENDAR_LABELS = {"24x7": "24 ore su 24", "working_days": "giorni lavorativi"}

RULE_LEADS: dict[str, str] = {
    "starts_on": "Il tempo parte quando",
    "stops_on": "L'obiettivo è raggiunto quando",
    "cancels_on": "L'orologio è annullato quando",
    "pauses_on": "Il tempo si sospende quando",
    "resumes_on": "Il tempo riprende quando",
}


_TRIGGERS = {t.value for t in sla.Trigger}


def rule_sentence(rule: str, trigger: str) -> str:
    """What naming `trigger` in `rule` does: "Il tempo parte quando la segnalazione è ricevuta"."""
    said = sla.TRIGGER_SENTENCES.get(sla.Trigger(trigger)) if trigger in _TRIGGERS else None
    return f"{RULE_LEADS[rule]} {said or trigger}"


def _said_list(values: Sequence[str], empty: str = "nessuna") -> str:
    if not values:
        return empty
    if len(values) == 1:
        return values[0]
    return ", ".join(values[:-1]) + " e " + values[-1]


def _said_day(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


def differences(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """What changed from one version of a policy to the next, one Italian line per change
    (`before` None: the first version known)."""
    if before is None:
        return ["Valori in vigore prima della prima modifica registrata."]
    lines: list[str] = []
    for urgency in URGENCIES:
        old = (before.get("targets") or {}).get(urgency)
        new = (after.get("targets") or {}).get(urgency)
        if said_target(old) != said_target(new):
            lines.append(f"Obiettivo {urgency}: da {said_target(old)} a {said_target(new)}.")
    if before.get("calendar") != after.get("calendar"):
        was = CALENDAR_LABELS.get(before.get("calendar", ""), str(before.get("calendar")))
        now = CALENDAR_LABELS.get(after.get("calendar", ""), str(after.get("calendar")))
        lines.append(f"Calendario: da {was} a {now}.")
    hours = ("opens", "closes")
    if [before.get(h) for h in hours] != [after.get(h) for h in hours]:
        lines.append(
            f"Orario di lavoro: da {before.get('opens')}-{before.get('closes')}"
            f" a {after.get('opens')}-{after.get('closes')}."
        )
    old_warnings = sorted(before.get("warnings") or [])
    new_warnings = sorted(after.get("warnings") or [])
    if old_warnings != new_warnings:
        lines.append(
            f"Avvisi: da {_said_list([said_percent(w) for w in old_warnings], 'nessuno')}"
            f" a {_said_list([said_percent(w) for w in new_warnings], 'nessuno')}."
        )
    old_days = sorted(before.get("extra_holidays") or [])
    new_days = sorted(after.get("extra_holidays") or [])
    if old_days != new_days:
        lines.append(
            f"Festività locali: da {_said_list([_said_day(d) for d in old_days])}"
            f" a {_said_list([_said_day(d) for d in new_days])}."
        )
    for rule in RULE_FIELDS:
        old_set, new_set = set(before.get(rule) or ()), set(after.get(rule) or ())
        for trigger in sorted(new_set - old_set):
            lines.append(f"Aggiunto: «{rule_sentence(rule, trigger)}».")
        for trigger in sorted(old_set - new_set):
            lines.append(f"Tolto: «{rule_sentence(rule, trigger)}».")
    return lines or ["Nessuna differenza dalla versione precedente."]
