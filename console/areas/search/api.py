"""Search's JSON operation: GET /api/v1/search."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request

from console.areas.search.reads import search
from console.areas.search.schemas import SearchQuery, SearchResults
from console.lib import services
from console.lib.api import operation
from dispatch import access
from dispatch import search as core


@operation(
    "GET",
    "/api/v1/search",
    summary="Find referrals and cases, open and closed, by number, reference, place or words",
    query=SearchQuery,
    response=SearchResults,
    auth=("session", "api_key", "device_token"),
    permission=core.NEED,
    errors=(403,),
    tag="search",
    description="With `q`: ranked by relevance (PostgreSQL full text, Italian, accents ignored,"
    " inflected forms and one-letter typos found); an exact case number or referrer's reference"
    " first. Without `q`: the archive, newest first. Filters: `state`, `outcome`, `zone`,"
    " `category`, `from`..`to` (days of reception in Europe/Rome; 422 by field when `from` is"
    " after `to`). Each caller finds its own share: the room everything, a referrer its own"
    " referrals and only their status, a territorial service the cases handed over to its zone,"
    " a unit the cases it was sent to. Every result returned is recorded as a file opening.",
)
async def get_search(
    request: Request, principal: access.Principal, _: None, query: BaseModel
) -> SearchResults:
    async with services.of(request).db.pool.acquire() as conn, conn.transaction():
        return await search(conn, principal, query)
