"""Point -> municipality on the shipped boundaries (shapely, prepared geometries in an STRtree).

The boundaries are Openpolis' unsimplified limits (console/data); a point is looked up against
the exact shapes, so a concave municipality resolves correctly wherever its centroid falls.
The zone of a municipality is editable data (the `municipalities` table): callers join it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

# console/data, named here rather than imported: console.lib.geography uses this module.
BOUNDARIES = (
    Path(__file__).resolve().parents[1] / "data" / "toscana_comuni_limits_openpolis_2023.geojson"
)


@dataclass(frozen=True, slots=True)
class Boundary:
    istat_code: str
    name: str
    geometry: BaseGeometry


def load(path: Path = BOUNDARIES) -> list[Boundary]:
    """The municipalities' shapes as shipped, in the file's order."""
    with path.open(encoding="utf-8") as f:
        features = json.load(f)["features"]
    return [
        Boundary(
            istat_code=feature["properties"]["com_istat_code"],
            name=feature["properties"]["name"],
            geometry=shape(feature["geometry"]),
        )
        for feature in features
    ]


class Locator:
    """Which municipality holds a point: an STRtree of bounding boxes, then exact tests on
    prepared shapes. A point on a shared border resolves to one of the two (the first in the
    file's order); a point outside every shape resolves to None."""

    def __init__(self, boundaries: list[Boundary]) -> None:
        self._codes = [b.istat_code for b in boundaries]
        self._index = {code: i for i, code in enumerate(self._codes)}
        self._names = {b.istat_code: b.name for b in boundaries}
        self._shapes = [b.geometry for b in boundaries]
        for geometry in self._shapes:
            shapely.prepare(geometry)
        self._tree = shapely.STRtree(self._shapes)
        self._region = shapely.union_all(self._shapes)
        shapely.prepare(self._region)

    def municipality(self, lat: float, lon: float) -> str | None:
        """The ISTAT code of the municipality holding the point, or None outside Tuscany."""
        point = shapely.Point(lon, lat)
        for index in sorted(self._tree.query(point, predicate="intersects").tolist()):
            return self._codes[index]
        return None

    def codes(self) -> list[str]:
        """Every municipality's ISTAT code, in the file's order."""
        return list(self._codes)

    def name(self, istat_code: str) -> str | None:
        return self._names.get(istat_code)

    def in_region(self, lat: float, lon: float) -> bool:
        """Within Tuscany's land boundary (all the municipalities together)."""
        return bool(self._region.intersects(shapely.Point(lon, lat)))

    def contains(self, istat_code: str, lat: float, lon: float) -> bool:
        """Whether the point lies within (or on the border of) that municipality."""
        geometry = self._shapes[self._index[istat_code]]
        return bool(geometry.intersects(shapely.Point(lon, lat)))

    def surface_point(self, istat_code: str) -> tuple[float, float]:
        """A point certainly inside the municipality (lat, lon): its centroid when that lies
        inside, else shapely's point on surface (a concave shape's centroid can fall outside)."""
        geometry = self._shapes[self._index[istat_code]]
        centroid = geometry.centroid
        point = centroid if geometry.contains(centroid) else geometry.point_on_surface()
        return (point.y, point.x)

    def distance_km(self, lat: float, lon: float, istat_code: str) -> float:
        """Roughly how far a point lies outside a municipality (0 inside), in km."""
        geometry = self._shapes[self._index[istat_code]]
        degrees = float(geometry.distance(shapely.Point(lon, lat)))
        return degrees * 111.0 * 0.85  # a degree at Tuscany's latitude, between lat and lon


@functools.cache
def locator() -> Locator:
    """The process's one locator, built on first use (about half a second)."""
    return Locator(load())
