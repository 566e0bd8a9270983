"""The read side of the audit trail: who opened whose file, and when.

Every change is audited by the event log, written in the action's own transaction
(`Database.action`). Reads of a person's file are not events (they would serialise every read
on the log's head): each one is a row of `file_openings`, written in the same transaction
that reads the file, before anything is answered. If the row cannot be written, the read fails:
nobody sees a file without leaving a trace. Both tables are append-only (migration 0006).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from console import services
from console.api import operation
from dispatch import access
from dispatch.events import actor_of

Subject = Literal["referral", "case", "handover", "assignment"]


async def file_opened(
    conn: asyncpg.Connection,
    principal: access.Principal,
    subject: Subject,
    subject_ids: int | Sequence[int],
) -> None:
    """Record that `principal` is reading these files; call inside the read's transaction."""
    ids = [subject_ids] if isinstance(subject_ids, int) else list(subject_ids)
    if not ids:
        return
    await conn.execute(
        "INSERT INTO file_openings (at, subject, subject_id, role, actor, actor_name, zone_id)"
        " SELECT $1, $2, id, $3, $4, $5, $6 FROM unnest($7::bigint[]) AS id",
        datetime.now(UTC),
        subject,
        principal.role.value,
        actor_of(principal),
        principal.name,
        principal.zone_id,
        ids,
    )


class FileOpeningsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Subject | None = Field(None, description="Only openings of this kind of file.")
    subject_id: int | None = Field(None, ge=1, le=2**62, description="Only this file.")
    actor: str | None = Field(
        None, max_length=40, description="Only this reader: user:N, unit:N or referrer:N."
    )
    before_id: int | None = Field(None, ge=1, le=2**62, description="Page: ids below this one.")
    limit: int = Field(100, ge=1, le=1000)


class FileOpening(BaseModel):
    id: int
    at: datetime
    subject: Subject
    subject_id: int
    role: str
    actor: str
    actor_name: str
    zone_id: str | None


class FileOpeningList(BaseModel):
    openings: list[FileOpening]


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
