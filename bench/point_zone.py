"""point_to_zone_p99_us: which zone a point lies in, one lookup at a time.

Ours: `console.lib.geo.locator().municipality(lat, lon)` (an STRtree of the 273 municipalities'
bounding boxes, then exact tests on prepared shapes), then the zone from a dict of the
municipalities (console/data, as `console.lib.geography` ships it; the console joins the same
mapping in the `municipalities` table). The points: P uniform random points in the
municipalities' bounding box (about half fall in the sea or in the neighbouring regions: no
zone) and every municipality's surface point (`Locator.surface_point`), shuffled; p99 of the
time per lookup.

Baseline, the usual way without an index: a loop of shapely `contains` over the same 273
shapes unprepared, in the file's order, stopping at the first that holds the point; the same
points, the same dict. The bare STRtree query without prepared shapes is in the note.

Both must name the same municipality for every point (a sanity check), and every surface point
its own municipality. Building the locator (once per process, about 0.2 s) is not timed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import shapely

from bench import stats
from bench.common import Figure, Run
from console.lib import geo, geography

WARMUP = 200


def _points(
    locator: geo.Locator, boundaries: list[geo.Boundary], count: int, seed: int = 14
) -> list[tuple[float, float]]:
    """`count` random points in the bounding box of all the shapes, and each municipality's
    surface point, shuffled (lat, lon)."""
    west, south, east, north = shapely.total_bounds([b.geometry for b in boundaries]).tolist()
    rng = random.Random(seed)
    points = [(rng.uniform(south, north), rng.uniform(west, east)) for _ in range(count)]
    points += [locator.surface_point(code) for code in locator.codes()]
    rng.shuffle(points)
    return points


Found = tuple[str | None, str | None]  # (municipality, zone)


def _timed(
    lookup: Callable[[float, float], Found], points: list[tuple[float, float]]
) -> tuple[list[float], list[Found]]:
    """Microseconds per call of `lookup(lat, lon)`, and the answers; the first WARMUP calls are
    answered but not timed."""
    clock = time.perf_counter
    times: list[float] = []
    answers: list[Found] = []
    for i, (lat, lon) in enumerate(points):
        began = clock()
        answer = lookup(lat, lon)
        elapsed = clock() - began
        answers.append(answer)
        if i >= WARMUP:
            times.append(elapsed * 1e6)
    return times, answers


async def measure(run: Run) -> list[Figure]:
    count = run.sizes.zone_points
    locator = geo.locator()
    boundaries = geo.load()
    zone_of = {m.istat_code: m.zone_id for m in geography.municipalities()}
    points = _points(locator, boundaries, count)

    def ours(lat: float, lon: float) -> Found:
        code = locator.municipality(lat, lon)
        return code, zone_of.get(code) if code is not None else None

    # geo.load() builds new geometries: the locator's are prepared, these are not
    shapes = [(b.istat_code, b.geometry) for b in boundaries]

    def naive(lat: float, lon: float) -> Found:
        point = shapely.Point(lon, lat)
        for code, shape in shapes:
            if shape.contains(point):
                return code, zone_of.get(code)
        return None, None

    tree = shapely.STRtree([geometry for _, geometry in shapes])

    def bare_tree(lat: float, lon: float) -> Found:
        hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None, None
        code = shapes[int(min(hits))][0]
        return code, zone_of.get(code)

    t_ours, a_ours = _timed(ours, points)
    t_naive, a_naive = _timed(naive, points)
    t_tree, _ = _timed(bare_tree, points)

    differ = sum(1 for a, b in zip(a_ours, a_naive, strict=True) if a != b)
    run.check(differ == 0, f"point_zone: ours and the naive loop differ on {differ} points")
    own = sum(
        1
        for code in locator.codes()
        if ours(*locator.surface_point(code))[0] == code and zone_of.get(code) is not None
    )
    run.check(own == len(zone_of), f"point_zone: {own} of {len(zone_of)} surface points found")
    inside = sum(1 for code, _ in a_ours if code is not None)

    p_ours, p_naive = stats.percentile(t_ours, 99), stats.percentile(t_naive, 99)
    return [
        Figure(
            "point_to_zone_p99_us",
            round(p_ours, 2),
            round(p_naive, 2),
            "us",
            "ours <= 1000 us",
            p_ours <= 1000,
            f"{len(t_ours)} lookups ({inside} inside Tuscany), in-process; p50 ours"
            f" {stats.percentile(t_ours, 50):.1f} us, naive {stats.percentile(t_naive, 50):.1f}"
            f" us; the bare STRtree without prepared shapes p99"
            f" {stats.percentile(t_tree, 99):.1f} us",
        )
    ]
