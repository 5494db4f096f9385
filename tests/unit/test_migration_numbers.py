"""Migrations are keyed by their number: two files with one number would skip the second."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "infra" / "postgres" / "migrations"


def test_every_migration_has_a_number_of_its_own() -> None:
    numbers = Counter(int(p.name.split("_", 1)[0]) for p in MIGRATIONS.glob("*.sql"))
    assert numbers, "no migrations found"
    assert [n for n, count in numbers.items() if count > 1] == []
