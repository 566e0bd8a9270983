"""The errors the edge answers with: one small hierarchy, translated once into HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str  # dotted path in the body or "query.<name>"
    message: str
    type: str = "invalid"


class ApiError(Exception):
    status = 400
    code = "bad_request"
    detail = "Richiesta non valida."

    def __init__(
        self,
        detail: str | None = None,
        *,
        problems: list[FieldProblem] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail or self.detail)
        self.detail = detail or self.detail
        self.problems = problems or []
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.problems:
            body["errors"] = [
                {"field": p.field, "message": p.message, "type": p.type} for p in self.problems
            ]
        return body

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class NotAuthenticated(ApiError):
    status, code, detail = 401, "not_authenticated", "Autenticazione richiesta."


class Forbidden(ApiError):
    status, code, detail = 403, "forbidden", "Operazione non consentita."


class CsrfRefused(ApiError):
    status, code, detail = 403, "csrf_refused", "Token CSRF mancante o non valido."


class NotFound(ApiError):
    status, code, detail = 404, "not_found", "Risorsa non trovata."


class Conflict(ApiError):
    status, code, detail = 409, "conflict", "Conflitto con lo stato attuale."


class PayloadTooLarge(ApiError):
    status, code, detail = 413, "payload_too_large", "Corpo della richiesta troppo grande."


class UnsupportedMediaType(ApiError):
    status, code, detail = 415, "unsupported_media_type", "Il corpo deve essere JSON."


class ValidationFailed(ApiError):
    status, code, detail = 422, "validation_error", "Dati non validi."


class RateLimited(ApiError):
    status, code, detail = 429, "rate_limited", "Troppi tentativi: riprova più tardi."


class Unavailable(ApiError):
    status, code, detail = 503, "unavailable", "Servizio momentaneamente non disponibile."


ALL: tuple[type[ApiError], ...] = (
    NotAuthenticated,
    Forbidden,
    CsrfRefused,
    NotFound,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    RateLimited,
    Unavailable,
)
