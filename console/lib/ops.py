"""Operations endpoints: liveness, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.lib import db, metrics, openapi, schemas, services
from console.lib.api import operation


@operation(
    "GET",
    "/healthz",
    summary="The process is alive",
    response=schemas.Health,
    auth=(),
    tag="operations",
)
async def healthz(_: Request, __: None, ___: None, ____: None) -> schemas.Health:
    return schemas.Health(status="ok")


@operation(
    "GET",
    "/readyz",
    summary="Ready to serve: PostgreSQL is reachable (Redis's state is reported, not required)",
    description="503 only when PostgreSQL does not answer within 2 s: it is the truth, without"
    " it nothing can be served. Redis is never on the path of truth (intake, actions and live"
    " delivery go on without it), so an instance with Redis away stays ready, with"
    " `status: degraded` and the failing check named: a load balancer must not take every"
    " instance out during a Redis outage.",
    response=schemas.Health,
    auth=(),
    errors=(503,),
    tag="operations",
)
async def readyz(request: Request, _: None, __: None, ___: None) -> Response:
    svc = services.of(request)
    checks = {}
    try:
        async with asyncio.timeout(2):
            await svc.db.pool.fetchval("SELECT 1")
        checks["postgres"] = "ok"
    except (OSError, TimeoutError, Exception) as exc:
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        async with asyncio.timeout(2):
            await svc.redis.ping()
        checks["redis"] = "ok"
    except (OSError, TimeoutError, RedisError) as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = checks["postgres"] == "ok"
    status = "unavailable" if not ready else "ok" if checks["redis"] == "ok" else "degraded"
    body = schemas.Health(status=status, checks=checks)
    headers = {} if ready else {"Retry-After": str(db.RETRY_AFTER_SECONDS)}
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503, headers=headers)


async def metrics_endpoint(_: Request) -> Response:
    data, content_type = metrics.render()
    return Response(data, media_type=content_type)


async def openapi_endpoint(request: Request) -> Response:
    """The document of the operations this application serves (`console.app` composes them)."""
    return JSONResponse(openapi.document(request.app.state.operations))
