"""Demo places on the map: a point inside a municipality, spread around its centre so that a
year of referrals in Florence is not one pin. Deterministic: the same key gives the same point."""

from __future__ import annotations

import hashlib
import math

from console.lib import geo

SPREAD_KM = 2.5


def spot(istat_code: str, lat: float, lon: float, key: str) -> tuple[float, float]:
    """A point within SPREAD_KM of (lat, lon) that lies inside the municipality; (lat, lon)
    itself when a few tries all fall outside (a small or thin municipality)."""
    locator = geo.locator()
    digest = hashlib.sha256(f"{istat_code}:{key}".encode()).digest()
    for attempt in range(6):
        a, b = digest[attempt * 4 : attempt * 4 + 2], digest[attempt * 4 + 2 : attempt * 4 + 4]
        angle = int.from_bytes(a) / 65536 * 2 * math.pi
        distance = math.sqrt(int.from_bytes(b) / 65536) * SPREAD_KM / (attempt + 1)
        candidate = (
            round(lat + distance / 111.0 * math.sin(angle), 5),
            round(lon + distance / (111.0 * math.cos(math.radians(lat))) * math.cos(angle), 5),
        )
        if locator.municipality(*candidate) == istat_code:
            return candidate
    return (lat, lon)
