"""Search and archive over referrals and cases, open and closed, each caller in its own scope."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel

from console.areas.intake import reads as intake_reads
from console.areas.search.schemas import SearchResult, SearchResults
from console.lib import audit, errors
from dispatch import access, cases, referrals
from dispatch import search as core
from dispatch.indicators import start_of_day
from dispatch.search import Condition, Scope, ScopeKind

# The words of a query, each with whether the lexicon knows it and, when it does not, its
# nearest neighbours by trigram similarity (pg_trgm's `%`: similarity above 0.3).
_WORDS = """
SELECT w.word,
       CASE WHEN EXISTS (SELECT FROM search_words s WHERE s.word = w.word) OR NOT w.widen
            THEN '{}'::text[]
            ELSE array(SELECT s.word FROM search_words s
                        WHERE s.word % w.word
                        ORDER BY similarity(s.word, w.word) DESC, s.word LIMIT $3)
       END AS near
  FROM unnest($1::text[], $2::bool[]) AS w(word, widen)
"""

# Matches with their relevance: the words in the documents, the referrer's reference and the
# case number (both exact, ranked first); then the caller's scope and the filters. The room
# searches the whole document; every other caller only what was sent in (`shared`: no decision,
# no notes), so that no word of the room's can be probed by whether something is found.
_FOUND = """
WITH hits AS (
    SELECT d.referral_id, d.received_at,
           ts_rank(d.{document}, to_tsquery('seus_it', $1), 1)::float8 AS rank
      FROM search_documents d
     WHERE $1 <> '' AND d.{document} @@ to_tsquery('seus_it', $1)
    UNION ALL
    SELECT r.id, r.received_at, 10.0 FROM referrals r
     WHERE $2 <> '' AND lower(r.referrer_reference) = $2
    UNION ALL
    SELECT r.id, r.received_at, 10.0 FROM referrals r
     WHERE $3 <> '' AND r.case_number LIKE '%' || $3
), ranked AS (
    SELECT referral_id AS id, max(received_at) AS received_at, max(rank) AS rank
      FROM hits GROUP BY referral_id
)
SELECT ranked.id, ranked.rank
  FROM ranked {filters}
 ORDER BY ranked.rank DESC, ranked.received_at DESC, ranked.id DESC
 LIMIT {limit}
"""

_ARCHIVE = """
SELECT r.id, 0.0::float8 AS rank
  FROM referrals r
  {filters}
 ORDER BY r.received_at DESC, r.id DESC
 LIMIT {limit}
"""

_HANDED_OVER = "EXISTS (SELECT FROM handovers h WHERE h.case_id = c.id AND h.status = 'accepted')"


class _Filters:
    """The WHERE clause after the search's own parameters, with its arguments numbered on."""

    def __init__(self, first: int) -> None:
        self.args: list[Any] = []
        self.clauses: list[str] = []
        self.first = first

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${self.first + len(self.args) - 1}"

    def where(self, clause: str) -> None:
        self.clauses.append(clause)

    def condition(self, wanted: Condition) -> None:
        parts = []
        if wanted.referral_statuses is not None:
            parts.append(f"r.status = ANY({self.arg(list(wanted.referral_statuses))}::text[])")
        if wanted.case_closed is not None:
            closed = "coalesce(c.status = 'closed', false)"
            parts.append(closed if wanted.case_closed else f"NOT {closed}")
        if wanted.handed_over is not None:
            parts.append(_HANDED_OVER if wanted.handed_over else f"NOT {_HANDED_OVER}")
        joined = " AND ".join(parts) or "true"
        self.where(f"NOT ({joined})" if wanted.negate else f"({joined})")

    def sql(self, *, matched: bool) -> str:
        """The joins and the WHERE clause; after the matches (`matched`) none without a filter,
        so that the room's plain search orders its matches without reading their referrals."""
        if matched and not self.clauses:
            return ""
        head = "JOIN referrals r ON r.id = ranked.id " if matched else ""
        head += "LEFT JOIN cases c ON c.referral_id = r.id"
        return head + (" WHERE " + " AND ".join(self.clauses) if self.clauses else "")


def scope_of(principal: access.Principal) -> Scope:
    found = core.scope(principal)
    if found is None:
        raise errors.Forbidden()
    return found


def _scoped(filters: _Filters, scope: Scope) -> None:
    if scope.kind is ScopeKind.REFERRER:
        filters.where(f"r.referrer_id = {filters.arg(scope.referrer_id)}")
    elif scope.kind is ScopeKind.ZONE:
        filters.where(
            "EXISTS (SELECT FROM handovers h WHERE h.case_id = c.id"
            f" AND h.zone_id = {filters.arg(scope.zone_id)})"
        )
    elif scope.kind is ScopeKind.UNIT:
        filters.where(
            "EXISTS (SELECT FROM assignments a WHERE a.case_id = c.id"
            f" AND a.unit_id = {filters.arg(scope.unit_id)})"
        )


def _filtered(filters: _Filters, asked: dict[str, Any]) -> None:
    first: date | None = asked["from"]
    last: date | None = asked["to"]
    if first is not None:
        filters.where(f"r.received_at >= {filters.arg(start_of_day(first))}")
    if last is not None:
        filters.where(f"r.received_at < {filters.arg(start_of_day(last + timedelta(days=1)))}")
    if asked["zone"]:
        filters.where(f"r.zone_id = {filters.arg(asked['zone'])}")
    if asked["category"] is not None:
        category = filters.arg(asked["category"].value)
        filters.where(f"coalesce(r.assessment->>'trigger', r.trigger) = {category}")
    if asked["state"] is not None:
        filters.condition(core.condition(asked["state"]))
    if asked["outcome"] is not None:
        filters.condition(core.condition(asked["outcome"]))


async def _alternatives(
    conn: asyncpg.Connection, words: tuple[str, ...]
) -> tuple[list[list[str]], dict[str, list[str]]]:
    """Each word with its neighbours when the lexicon does not know it."""
    rows = await conn.fetch(
        _WORDS, list(words), [core.widened(w) for w in words], core.MAX_ALTERNATIVES
    )
    near = {row["word"]: list(row["near"]) for row in rows}
    return [[w, *near.get(w, [])] for w in words], {w: n for w, n in near.items() if n}


async def search(
    conn: asyncpg.Connection, principal: access.Principal, query: BaseModel
) -> SearchResults:
    """Ranked results for the words, or the archive newest first without words; every result
    listed is recorded as a file opening of the referral (or of its case)."""
    scope = scope_of(principal)
    asked = query.model_dump()
    problems = core.period_problems(asked["from"], asked["to"])
    if problems:
        raise errors.ValidationFailed(
            problems=[errors.FieldProblem(f"query.{f}", m, "period") for f, m in problems]
        )
    text = (asked["q"] or "").strip()
    words = core.words(text)
    number = core.case_number(text) if text else None
    limit = asked["limit"]
    widened: dict[str, list[str]] = {}
    if text:
        alternatives, widened = await _alternatives(conn, words) if words else ([], {})
        filters = _Filters(first=4)
        template = _FOUND
        head: list[Any] = [
            core.full_text_query(alternatives),
            core.fold(text),
            number.suffix() if number else "",
        ]
    else:
        filters, template, head = _Filters(first=1), _ARCHIVE, []
    _scoped(filters, scope)
    _filtered(filters, asked)
    document = "document" if scope.details else "shared"
    found = await conn.fetch(
        template.format(
            filters=filters.sql(matched=bool(text)), limit=limit + 1, document=document
        ),
        *head,
        *filters.args,
    )
    more = len(found) > limit
    found = found[:limit]
    results = await _results(conn, scope, [row["id"] for row in found], head[0] if head else "")
    by_id = {r.referral_id: r for r in results}
    ordered = [by_id[row["id"]].model_copy(update={"rank": row["rank"]}) for row in found]
    await _audit(conn, principal, ordered)
    # The lexicon holds every caller's words: only the room is told which ones were tried.
    shown = widened if scope.details else {}
    return SearchResults(words=list(words), widened=shown, results=ordered, more=more)


async def _results(
    conn: asyncpg.Connection, scope: Scope, ids: list[int], text_query: str
) -> list[SearchResult]:
    if not ids:
        return []
    rows = await conn.fetch(intake_reads.SELECT + " WHERE r.id = ANY($1::bigint[])", ids)
    ended = {
        row["referral_id"]: row
        for row in await conn.fetch(
            f"SELECT c.referral_id, c.closed_at, {_HANDED_OVER} AS handed_over"
            " FROM cases c WHERE c.referral_id = ANY($1::bigint[])",
            ids,
        )
    }
    snippets: dict[int, str] = {}
    if scope.details and text_query:
        snippets = {
            row["id"]: row["snippet"]
            for row in await conn.fetch(
                "SELECT r.id, ts_headline('seus_it', concat_ws(' … ', r.description,"
                " r.address, r.decision_reason), to_tsquery('seus_it', $2),"
                " 'StartSel=«, StopSel=», MaxWords=24, MinWords=8, ShortWord=2,"
                ' MaxFragments=2, FragmentDelimiter=" … "\') AS snippet'
                " FROM referrals r WHERE r.id = ANY($1::bigint[])",
                ids,
                text_query,
            )
        }
    return [_result(row, ended.get(row["id"]), scope, snippets.get(row["id"])) for row in rows]


def _href(row: asyncpg.Record, scope: Scope) -> str:
    if scope.kind is ScopeKind.REFERRER:
        return f"/segnalazioni/{row['id']}"
    if scope.kind is ScopeKind.ZONE:
        return "/passaggi"
    if scope.kind is ScopeKind.UNIT:
        return "/tablet"
    return f"/casi/{row['case_id']}" if row["case_id"] else f"/coda/{row['id']}"


def _result(
    row: asyncpg.Record, case: asyncpg.Record | None, scope: Scope, snippet: str | None
) -> SearchResult:
    handed_over = bool(case and case["handed_over"])
    outcome = core.outcome(row["status"], row["case_status"], handed_over)
    if scope.kind is ScopeKind.REFERRER:
        progress = intake_reads.progress_of(row)
        status, status_label = progress.value, referrals.PROGRESS_LABELS[progress]
    elif row["case_status"] is not None:
        status = row["case_status"]
        status_label = cases.STATUS_LABELS.get(cases.Status(status), status)
    else:
        status = row["status"]
        status_label = dict(referrals.STATUS_LABELS).get(row["status"], row["status"])
    common: dict[str, Any] = {
        "referral_id": row["id"],
        "case_id": row["case_id"],
        "case_number": row["case_number"],
        "referrer_reference": row["referrer_reference"],
        "received_at": row["received_at"],
        "status": status,
        "status_label": status_label,
        "outcome": outcome,
        "outcome_label": core.OUTCOME_LABELS[outcome],
        "closed_at": case["closed_at"] if case else None,
        "href": _href(row, scope),
        "rank": 0.0,
    }
    if scope.details:
        trigger = referrals.Trigger((row["assessment"] or {}).get("trigger") or row["trigger"])
        common |= {
            "urgency": row["urgency"] or row["urgency_proposed"],
            "category": trigger,
            "category_label": referrals.TRIGGER_LABELS[trigger],
            "zone_id": row["zone_id"],
            "zone_name": row["zone_name"],
            "municipality": row["municipality_name"],
            "address": row["address"],
            "snippet": snippet,
        }
    return SearchResult(**common)


async def _audit(
    conn: asyncpg.Connection, principal: access.Principal, results: list[SearchResult]
) -> None:
    """What a search shows of a person's file is an opening of that file."""
    with_case = [r.case_id for r in results if r.case_id is not None]
    without = [r.referral_id for r in results if r.case_id is None]
    if with_case:
        await audit.file_opened(conn, principal, "case", with_case)
    if without:
        await audit.file_opened(conn, principal, "referral", without)
