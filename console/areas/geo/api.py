"""The geography area's JSON operation: GET /api/v1/geo/locate (what the map pick calls)."""

from __future__ import annotations

from starlette.requests import Request

from console.areas.geo import reads
from console.areas.geo.schemas import Located, LocateQuery
from console.lib import services
from console.lib.api import operation
from dispatch import access


@operation(
    "GET",
    "/api/v1/geo/locate",
    summary="Where a point lies: its municipality and zone, and whether it agrees with a stated"
    " municipality",
    description="The municipality from the shipped boundaries (exact shapes, concave ones"
    " included); its zone from the municipalities table. A point outside Tuscany answers"
    " `inside_tuscany: false`, null municipality and zone, and an `outside_tuscany` warning;"
    " with `municipality` (ISTAT code or exact name), a point in another municipality adds an"
    " `outside_municipality` warning. The warnings are those a referral with this place gets."
    " Impossible coordinates (beyond -90..90, -180..180) are a 422 by field.",
    query=LocateQuery,
    response=Located,
    auth=("session", "api_key"),
    permission=access.Permission.SUBMIT_REFERRAL,
    errors=(403,),
    tag="geo",
)
async def get_locate(
    request: Request, principal: access.Principal, _: None, query: LocateQuery
) -> Located:
    stated = None
    if query.municipality is not None:
        stated = reads.stated_town(query.municipality, "query.municipality")
    found = await reads.locate(services.of(request).db.pool, query.lat, query.lon, stated)
    return Located.model_validate(found)
