"""Score -> category in SQL, written from the domain's one definition (domain.nps)."""

from __future__ import annotations

from domain.nps import PASSIVE_MIN, PROMOTER_MIN, Category


def category_sql(score: str) -> str:
    """A SQL expression naming the category of the score column `score` (NULL for NULL)."""
    return (
        f"CASE WHEN {score} >= {PROMOTER_MIN} THEN '{Category.PROMOTER}'"
        f" WHEN {score} >= {PASSIVE_MIN} THEN '{Category.PASSIVE}'"
        f" WHEN {score} >= 0 THEN '{Category.DETRACTOR}' END"
    )
