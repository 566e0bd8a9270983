"""The live map's JSON operations: the snapshot, the partial reads the page makes on events,
and the layers a user shows."""

from __future__ import annotations

from starlette.requests import Request

from console.areas.map.actions import save_layers
from console.areas.map.reads import layers, snapshot, some_referrals, some_units
from console.areas.map.schemas import (
    LayersIn,
    LayersOut,
    MapReferrals,
    MapSnapshot,
    MapUnits,
    ReferralsQuery,
    UnitsQuery,
    ids_of,
)
from console.lib import errors, services
from console.lib.api import operation
from dispatch import access

# Who sees the map: whoever sees the referrals, the units and works the queue (operators and
# supervisors); the links open the queue's assessment page and the case page.
NEED = access.AllOf(
    frozenset(
        {access.Permission.VIEW_REFERRALS, access.Permission.VIEW_UNITS, access.Permission.ASSESS}
    )
)


@operation(
    "GET",
    "/api/v1/map",
    summary="The live map: zones with counts, open referrals and cases, units, bases, resources",
    response=MapSnapshot,
    permission=NEED,
    tag="map",
    description="One snapshot as of `as_of` (follow `/ws?after=as_of`). A referral without"
    " coordinates is drawn at its municipality's centre (`approximate`). A unit is drawn at its"
    " last reported position while at most SEUS_POSITION_MAX_AGE_MINUTES old, else at its base"
    " (`position_source`, `position_label`). Resources: the active ones with a point, never"
    " protected housing. On `unit.position_reported` (no coordinates in the log) read"
    " `GET /api/v1/map/units?ids=`.",
)
async def get_map(request: Request, principal: access.Principal, _: None, __: None) -> MapSnapshot:
    svc = services.of(request)
    return await snapshot(svc.db.pool, svc.settings.ranking_policy)


@operation(
    "GET",
    "/api/v1/map/units",
    summary="Some units as the map draws them (after their events)",
    query=UnitsQuery,
    response=MapUnits,
    permission=NEED,
    errors=(422,),
    tag="map",
    description="`ids`: unit ids, comma separated, at most 100. The same unit shape as in"
    " `GET /api/v1/map`; ids of no unit are left out.",
)
async def get_map_units(
    request: Request, principal: access.Principal, _: None, query: UnitsQuery
) -> MapUnits:
    svc = services.of(request)
    return await some_units(svc.db.pool, ids_of(query.ids), svc.settings.ranking_policy)


@operation(
    "GET",
    "/api/v1/map/referrals",
    summary="Some referrals and cases as the map draws them, and the zones' counts",
    query=ReferralsQuery,
    response=MapReferrals,
    permission=NEED,
    errors=(422,),
    tag="map",
    description="`ids`: referral ids, `cases`: case ids (comma separated, at most 100 each)."
    " Only those still open come back: one asked and missing has left the map.",
)
async def get_map_referrals(
    request: Request, principal: access.Principal, _: None, query: ReferralsQuery
) -> MapReferrals:
    pool = services.of(request).db.pool
    return await some_referrals(pool, ids_of(query.ids), ids_of(query.cases))


@operation(
    "GET",
    "/api/v1/me/preferences/map-layers",
    summary="The map layers this user shows (every layer until chosen)",
    response=LayersOut,
    permission=NEED,
    tag="map",
)
async def get_layers(request: Request, principal: access.Principal, _: None, __: None) -> LayersOut:
    if principal.user_id is None:
        raise errors.Forbidden()
    return await layers(services.of(request).db.pool, principal.user_id)


@operation(
    "PUT",
    "/api/v1/me/preferences/map-layers",
    summary="Choose the map layers this user shows",
    body=LayersIn,
    response=LayersOut,
    permission=NEED,
    errors=(422,),
    tag="map",
    example={"layers": ["zones", "referrals", "units"]},
    description="Known layers: zones, referrals, units, bases, resources; each at most once"
    " (422 naming `body.layers` otherwise). Remembered per user, read by /mappa at load.",
)
async def put_layers(
    request: Request, principal: access.Principal, body: LayersIn, _: None
) -> LayersOut:
    return await save_layers(services.of(request).db, principal, body.layers)
