"""The search page (/ricerca) and the archive (/archivio): one form, the results below."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.search.reads import search
from console.areas.search.schemas import SearchQuery, SearchResult
from console.lib import auth, errors, geography, services
from console.lib.render import page, render
from dispatch import referrals
from dispatch import search as core

FIELDS = ("q", "state", "outcome", "zone", "category", "from", "to")

# What the page says when a filter is wrong, next to the field.
_MESSAGES = {
    "q": "Scrivi al massimo 200 caratteri, su una riga.",
    "state": "Scegli uno stato dall'elenco.",
    "outcome": "Scegli un esito dall'elenco.",
    "zone": "Scegli una zona dall'elenco.",
    "category": "Scegli una categoria dall'elenco.",
    "from": "Scrivi una data valida (gg/mm/aaaa).",
    "to": "Scrivi una data valida (gg/mm/aaaa).",
}


def segments(snippet: str | None) -> list[tuple[str, bool]]:
    """A snippet as (text, matched) pieces: the matches are between « and »."""
    if not snippet:
        return []
    pieces: list[tuple[str, bool]] = []
    for i, part in enumerate(snippet.replace("»", "«").split("«")):
        if part:
            pieces.append((part, i % 2 == 1))
    return pieces


async def _page(request: Request, session: auth.Session, *, archive: bool) -> Response:
    principal = session.principal
    asked = {k: v for k, v in request.query_params.items() if k in FIELDS and v.strip()}
    if archive and "state" not in asked and "outcome" not in asked:
        asked["state"] = core.State.CONCLUDED.value
    problems: dict[str, str] = {}
    results: list[SearchResult] = []
    found: Any = None
    searched = archive or bool(asked.get("q"))
    if searched:
        try:
            query = SearchQuery.model_validate(asked)
            async with services.of(request).db.pool.acquire() as conn, conn.transaction():
                found = await search(conn, principal, query)
            results = found.results
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                field = str(err["loc"][0]) if err["loc"] else "q"
                problems.setdefault(field, _MESSAGES.get(field, "Valore non valido."))
        except errors.ValidationFailed as exc:
            for problem in exc.problems:
                field = problem.field.removeprefix("query.")
                problems.setdefault(field, problem.message)
    scope = core.scope(principal)
    return render(
        request,
        "search.html",
        status_code=422 if problems else 200,
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Archivio" if archive else "Ricerca",
        archive=archive,
        details=bool(scope and scope.details),
        asked=asked,
        problems=problems,
        searched=searched and not problems,
        found=found,
        results=[(r, segments(r.snippet)) for r in results],
        states=[(s.value, core.STATE_LABELS[s]) for s in core.State],
        outcomes=[(o.value, core.OUTCOME_LABELS[o]) for o in core.Outcome],
        categories=[(t.value, referrals.TRIGGER_LABELS[t]) for t in referrals.Trigger],
        zones=[(zone[0], zone[1]) for zone in geography.zones()],
        limit=core.DEFAULT_RESULTS,
    )


async def search_page(request: Request, session: auth.Session) -> Response:
    return await _page(request, session, archive=False)


async def archive_page(request: Request, session: auth.Session) -> Response:
    return await _page(request, session, archive=True)


ROUTES: list[BaseRoute] = [
    page("/ricerca", search_page, core.NEED),
    page("/archivio", archive_page, core.NEED),
]
