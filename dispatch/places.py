"""Is a referral's point where it says it is? Warnings, never refusals.

The edge finds the municipality a point falls in (console/lib/geo.py: None outside Tuscany);
this module says what the operator and the API's caller are told about it. A referrer may well
send a point beyond the region's border or in the next municipality (a phone's position, a
typo): the referral is kept, the room is warned next to the place.
"""

from __future__ import annotations

from dataclasses import dataclass

OUTSIDE_TUSCANY = "outside_tuscany"
OUTSIDE_MUNICIPALITY = "outside_municipality"


@dataclass(frozen=True, slots=True)
class Town:
    istat_code: str
    name: str


@dataclass(frozen=True, slots=True)
class PlaceWarning:
    """One doubt about a place: the field it concerns (within the place: `lat`,
    `municipality`), a type code, an English message (the API) and an Italian one (the pages)."""

    field: str
    type: str
    message: str
    message_it: str

    def as_json(self, prefix: str = "") -> dict[str, str]:
        """The shape of the API's field errors (`field`, `message`, `type`), plus the Italian
        sentence; `prefix` places the field in its body or query (`place.`, `query.`)."""
        return {
            "field": prefix + self.field,
            "message": self.message,
            "type": self.type,
            "message_it": self.message_it,
        }


def warnings(stated: Town | None, found: Town | None, *, has_point: bool) -> list[PlaceWarning]:
    """What to warn about a point that fell in `found` (None: outside Tuscany) for a place stated
    to be in `stated` (None: nothing stated). No point, nothing to check."""
    if not has_point:
        return []
    if found is None:
        return [
            PlaceWarning(
                "lat",
                OUTSIDE_TUSCANY,
                "the point lies outside Tuscany",
                "Il punto è fuori dalla Toscana: controllare le coordinate.",
            )
        ]
    if stated is not None and found.istat_code != stated.istat_code:
        return [
            PlaceWarning(
                "municipality",
                OUTSIDE_MUNICIPALITY,
                f"the point lies in {found.name}, not in {stated.name}",
                f"Il punto cade nel comune di {found.name}, non in quello indicato"
                f" ({stated.name}).",
            )
        ]
    return []
