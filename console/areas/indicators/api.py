"""The indicators' operations: the figures of a period as JSON, and as two CSV files (for
analysts, and for Italian spreadsheets)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from console.areas.indicators.reads import (
    csv_filename,
    csv_text,
    csv_text_it,
    period_asked,
    read,
)
from console.areas.indicators.schemas import Indicators, IndicatorsQuery
from console.lib import services
from console.lib.api import operation
from dispatch import access

_PERIOD_DOC = (
    " The period is `from`..`to`, days in Europe/Rome, both included (default: the last 30 days,"
    " today included); 422 by field when `from` is after `to` or the period exceeds 366 days."
)


@operation(
    "GET",
    "/api/v1/indicators",
    summary="Indicators for a period: referrals by category, referrer and zone; time to each"
    " milestone; breaches",
    query=IndicatorsQuery,
    response=Indicators,
    permission=access.Permission.VIEW_INDICATORS,
    errors=(403,),
    tag="indicators",
    description="Read in one repeatable-read transaction with `as_of`." + _PERIOD_DOC,
)
async def get_indicators(
    request: Request, principal: access.Principal, _: None, query: BaseModel
) -> Indicators:
    period = period_asked(query, datetime.now(UTC))
    return await read(services.of(request).db.pool, period)


@operation(
    "GET",
    "/api/v1/indicators.csv",
    summary="The same indicators as a CSV download for analysts (text/csv; charset=utf-8)",
    query=IndicatorsQuery,
    permission=access.Permission.VIEW_INDICATORS,
    errors=(403,),
    tag="indicators",
    extra={"content": {"text/csv": {"schema": {"type": "string"}}}},
    description="An attachment `indicatori-<from>-<to>.csv`, UTF-8, comma-separated, columns"
    " `section,key,label,count,median_s,p90_s,still_open,on_time,late,compliance_pct`"
    " (seconds; empty when there is no value). Sections: period, referrals,"
    " referrals_by_trigger, referrals_by_referrer_kind, referrals_by_zone, time_to_milestone,"
    " time_to_milestone_by_urgency, breaches, sla_compliance, sla_compliance_by_urgency,"
    " trend_week and trend_month (key: the first day, ISO). Text"
    " starting with = + - @ is prefixed with an apostrophe so no spreadsheet runs it."
    + _PERIOD_DOC,
)
async def get_indicators_csv(
    request: Request, principal: access.Principal, _: None, query: BaseModel
) -> Response:
    period = period_asked(query, datetime.now(UTC))
    found = await read(services.of(request).db.pool, period)
    return Response(
        csv_text(found).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{csv_filename(period)}"',
            "Cache-Control": "no-store",
        },
    )


@operation(
    "GET",
    "/api/v1/indicators.it.csv",
    summary="The same indicators as a CSV download for Italian spreadsheets",
    query=IndicatorsQuery,
    permission=access.Permission.VIEW_INDICATORS,
    errors=(403,),
    tag="indicators",
    extra={"content": {"text/csv": {"schema": {"type": "string"}}}},
    description="An attachment `indicatori-<from>-<to>-excel.csv` that Excel or LibreOffice in"
    " Italian opens as it is: UTF-8 with a byte order mark, `;` between cells, CRLF line ends,"
    " columns `sezione;chiave;voce;numero;mediana_minuti;p90_minuti;ancora_aperte;in_tempo;"
    "in_ritardo;rispetto_percentuale`, durations"
    " in minutes with one decimal after a comma (`13,5`), instants `dd/mm/yyyy hh:mm` in"
    " Europe/Rome (rows `periodo;inizio`, `periodo;fine_esclusa`, `periodo;generato`). The"
    " sections, keys and rows are those of `/api/v1/indicators.csv`, in Italian." + _PERIOD_DOC,
)
async def get_indicators_csv_it(
    request: Request, principal: access.Principal, _: None, query: BaseModel
) -> Response:
    now = datetime.now(UTC)
    period = period_asked(query, now)
    found = await read(services.of(request).db.pool, period)
    return Response(
        csv_text_it(found, now).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": (f'attachment; filename="{csv_filename(period, italian=True)}"'),
            "Cache-Control": "no-store",
        },
    )
