"""The read side of the audit trail: who opened whose file, and when.

Every change is audited by the event log, written in the action's own transaction
(`Database.action`). Reads of a person's file are not events (they would serialise every read
on the log's head): each one is a row of `file_openings`, written in the same transaction
that reads the file, before anything is answered. If the row cannot be written, the read fails:
nobody sees a file without leaving a trace. Both tables are append-only (migration 0006)."""

from __future__ import annotations

from starlette.requests import Request

from console.areas.audit.schemas import FileOpening, FileOpeningList, FileOpeningsQuery
from console.lib import services
from console.lib.api import operation
from dispatch import access


@operation(
    "GET",
    "/api/v1/audit/file-openings",
    summary="Who opened which person's file, newest first (administrators)",
    query=FileOpeningsQuery,
    response=FileOpeningList,
    permission=access.Permission.VIEW_AUDIT,
    errors=(403,),
    tag="audit",
    description="One row per reading of a referral, case file, timeline, handover dossier or "
    "unit assignment, written in the reading's own transaction.",
)
async def list_file_openings(
    request: Request, principal: access.Principal, _: None, query: FileOpeningsQuery
) -> FileOpeningList:
    rows = await services.of(request).db.pool.fetch(
        "SELECT id, at, subject, subject_id, role, actor, actor_name, zone_id FROM file_openings"
        " WHERE ($1::text IS NULL OR subject = $1) AND ($2::bigint IS NULL OR subject_id = $2)"
        " AND ($3::text IS NULL OR actor = $3) AND ($4::bigint IS NULL OR id < $4)"
        " ORDER BY id DESC LIMIT $5",
        query.subject,
        query.subject_id,
        query.actor,
        query.before_id,
        query.limit,
    )
    return FileOpeningList(openings=[FileOpening(**dict(r)) for r in rows])
