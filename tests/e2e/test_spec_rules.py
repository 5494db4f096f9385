"""The spec states the rules the README writes down, on the fields they govern."""

from __future__ import annotations

import json

import pytest

from api.app import openapi_document


@pytest.fixture(scope="module")
def schemas() -> dict:
    return json.loads(openapi_document())["components"]["schemas"]


def _field(schemas: dict, schema: str, field: str) -> dict:
    prop = schemas[schema]["properties"][field]
    if "oneOf" in prop:  # nullable: the constraints sit on the non-null branch
        merged = dict(prop)
        for branch in prop["oneOf"]:
            merged |= {k: v for k, v in branch.items() if k != "type"}
        return merged
    return prop


def test_the_follow_up_deadline_is_one_hour_to_ninety_days(schemas: dict) -> None:
    for schema in ("SettingsUpdate", "SettingsOut"):
        sla = _field(schemas, schema, "followup_sla_hours")
        assert (sla["minimum"], sla["maximum"]) == (1, 2160), schema


@pytest.mark.parametrize(
    ("schema", "field", "words"),
    [
        ("NpsResult", "gap", "positive above"),
        ("NpsResult", "margin_of_error", "before it is clipped"),
        ("NpsResult", "promoters_pct", "percentage (0-100)"),
        ("RecoveryOut", "promoters_pct", "percentage (0-100)"),
        ("CompareResult", "difference_ci95", "excludes 0 exactly when `significant`"),
        ("CompareResult", "adjusted_difference", "centre of `difference_ci95`"),
        ("VsRest", "significant", "the rule of `flag`"),
        ("VsRest", "difference_ci95", "Holm step"),
        ("Change", "compared_with", "empty points in between are skipped"),
        ("SampleSize", "from", "29 days before today"),
        ("CustomerOut", "history", "newest `answered_at` first"),
    ],
)
def test_statistical_fields_say_what_they_are(
    schemas: dict, schema: str, field: str, words: str
) -> None:
    assert words in _field(schemas, schema, field).get("description", ""), (schema, field)


def test_every_share_is_a_percentage_named_pct(schemas: dict) -> None:
    fractions = ("rate", "share", "ratio", "fraction")
    for name, schema in schemas.items():
        for field in schema.get("properties", {}):
            assert not field.endswith(fractions), f"{name}.{field}: use a *_pct percentage"
            if field.endswith("_pct"):
                described = _field(schemas, name, field).get("description", "")
                assert "percentage (0-100)" in described, f"{name}.{field}"
