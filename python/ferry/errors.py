"""Exceptions raised by the ferry client.

Every error the server answers becomes an :class:`ApiError` subclass chosen by HTTP status
(and, for 409, by the server's error code), carrying the server's message, code and status.
Network failures and timeouts become :class:`FerryConnectionError` and :class:`FerryTimeout`.
The classes also derive from the closest built-in exception, so ``except LookupError`` or
``except ValueError`` work as a Python programmer expects.
"""

from __future__ import annotations

from typing import Any, Optional


class FerryError(Exception):
    """Base class of every error the client raises."""


class FerryConnectionError(FerryError, ConnectionError):
    """The server could not be reached, or the connection broke mid-request."""


class FerryTimeout(FerryConnectionError, TimeoutError):
    """The server did not answer within the client's timeout."""


class IntegrityError(FerryError):
    """Downloaded content does not match the hash the server announced for it."""


class ApiError(FerryError):
    """The server answered with an error.

    Attributes:
        status: the HTTP status (e.g. 404).
        code: the server's error code (e.g. ``"not_found"``), or ``None`` when the answer
            carried none (inference errors carry a message only).
        message: the server's message, verbatim.
        method, path: the request that failed (the path without its query).
        retry_after: seconds from a ``Retry-After`` header, when the server sent one.
    """

    def __init__(self, status: int, message: str, code: Optional[str] = None, *,
                 method: str = "", path: str = "", retry_after: Optional[float] = None,
                 body: Any = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        self.retry_after = retry_after
        self.body = body
        where = f"{method} {path}: " if method else ""
        label = f"{status} {code}" if code else str(status)
        super().__init__(f"{where}{label}: {message}")


class BadRequest(ApiError, ValueError):
    """400: the request was malformed or named something impossible."""


class Unauthenticated(ApiError, PermissionError):
    """401: no token, or a wrong, expired or revoked one."""


class PermissionDenied(ApiError, PermissionError):
    """403: the token lacks the scope the route needs."""


class NotFound(ApiError, LookupError):
    """404: the dataset, model, run, endpoint... does not exist."""


class Conflict(ApiError):
    """409: the request conflicts with what is stored."""


class AlreadyExists(Conflict):
    """409 already_exists: e.g. a tag or token name that is taken."""


class FailedPrecondition(Conflict):
    """409 failed_precondition: e.g. deleting a model version an alias points at."""


class PayloadTooLarge(ApiError, ValueError):
    """413: the body or a row count is over the server's limit."""


class RateLimited(ApiError):
    """429: over a rate limit; ``retry_after`` says when to try again."""


class ServerError(ApiError):
    """5xx: the server failed (500 data_loss means stored content is damaged)."""


class Unavailable(ServerError):
    """503: the server (or the endpoint) cannot serve now."""


_BY_CODE = {
    "already_exists": AlreadyExists,
    "failed_precondition": FailedPrecondition,
    "aborted": Conflict,
}

_BY_STATUS = {
    400: BadRequest,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: RateLimited,
    503: Unavailable,
}


def error_class(status: int, code: Optional[str]) -> type:
    """The exception class for an HTTP error status and the server's code."""
    if code in _BY_CODE and status == 409:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return ApiError
