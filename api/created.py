"""201 Created answers: the new resource in the body, its path in `Location`."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

import msgspec
from litestar import Response

T = TypeVar("T")


class _Identified(msgspec.Struct):
    id: UUID


def created(body: T, location: str) -> Response[T]:
    """201 with `body`; `location` is the path a GET reads it back from."""
    return Response(body, status_code=201, headers={"Location": location})


def locate(response: Response[Any], collection: str) -> Response[Any]:
    """Add `Location` to a 201 whose body is already rendered JSON with an `id`."""
    if response.status_code == 201 and isinstance(response.content, bytes):
        new = msgspec.json.decode(response.content, type=_Identified)
        response.headers["Location"] = f"{collection}/{new.id}"
    return response
