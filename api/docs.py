"""OpenAPI helpers: the problem responses every operation documents."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from api.errors import PROBLEM_JSON, Problem

_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing, wrong or revoked credentials",
    403: "The API key lacks the required scope",
    404: "Unknown id (or an id of another tenant)",
    409: "Conflict with the current state",
    413: "Body larger than 1 MiB",
    422: "Invalid input; `errors` names each field",
}


def problems(*codes: int) -> dict[int, ResponseSpec]:
    """Problem responses for `codes`, plus the ones every authenticated call can answer."""
    wanted = sorted({401, 422, *codes})
    return {
        code: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[code],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for code in wanted
    }
