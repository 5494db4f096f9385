"""The committed spec states the rules the service checks on input (so valid means accepted)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import api.app  # noqa: F401  (imports every wire type)
from api.openapi_bodies import _wire_types
from api.params import DATE, INSTANT

SPEC = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())
SCHEMAS = SPEC["components"]["schemas"]


def test_every_request_body_object_is_closed() -> None:
    bodies = [name for name in _wire_types() if name in SCHEMAS]
    assert len(bodies) >= 15
    assert [n for n in bodies if SCHEMAS[n].get("additionalProperties") is not False] == []


def test_segment_maps_state_their_keys_size_and_values() -> None:
    segments = SCHEMAS["ResponseCreate"]["properties"]["segments"]
    assert segments["maxProperties"] == 10
    assert segments["propertyNames"]["pattern"] == "^[a-z][a-z0-9_]{0,39}$"
    assert segments["additionalProperties"]["maxLength"] == 100


def test_query_dates_and_instants_carry_the_patterns_the_handlers_check() -> None:
    nps = {p["name"]: p["schema"] for p in SPEC["paths"]["/v1/nps"]["get"]["parameters"]}
    assert nps["from"]["pattern"] == DATE and nps["from"]["format"] == "date"
    feed = SPEC["paths"]["/v1/customers"]["get"]["parameters"]
    assert {p["name"]: p["schema"] for p in feed}["updated_since"]["pattern"] == INSTANT
    assert re.match(DATE, "2026-02-28") and not re.match(DATE, "1999-12-31")
    assert re.match(INSTANT, "2026-02-28T10:00:00.5+01:00")
    assert not re.match(INSTANT, "2026-02-28 10:00:00Z")


def test_strings_that_reach_postgresql_exclude_nul() -> None:
    name = SCHEMAS["SurveyCreate"]["properties"]["name"]
    assert name["pattern"] == "^[^\\u0000]*$"
