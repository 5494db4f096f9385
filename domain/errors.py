"""Domain errors; api/ maps each to one HTTP status."""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One rejected input field: a dotted path (`segments.team`, `responses[3].score`)."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    title = "Error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    title = "Conflict"


class Unauthorized(DomainError):
    title = "Unauthorized"


class Forbidden(DomainError):
    title = "Forbidden"


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a rule; names the fields."""

    title = "Invalid input"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", [FieldError(field=field, message=message)])


class IdempotencyMismatch(InvalidInput):
    """The Idempotency-Key was used before with another request body."""

    title = "Idempotency key reused with another request"

    def __init__(self, detail: str) -> None:
        message = "was used before with another request body"
        super().__init__(detail, [FieldError(field="Idempotency-Key", message=message)])


class Unavailable(DomainError):
    """A backing service the request needs is down."""

    title = "Service unavailable"
