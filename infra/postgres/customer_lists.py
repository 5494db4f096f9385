"""The customer list: the CRM change feed and its reward and rescue filters.

Every filter reads the standing kept on the customer row (latest and previous answer not
excluded, see migration 010) through an index: `category` through customers_by_category,
`trend` through the partial indexes customers_trending_down/up; `followup` joins the
latest answer's case by its unique (tenant_id, response_id).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.customers import (
    CATEGORY_RANK,
    CustomerChange,
    CustomerFilter,
    FollowupState,
    Trend,
)
from domain.nps import classify
from infra.postgres.responses import COLUMNS, to_response


def open_followups_sql(tenant: str, customer: str) -> str:
    """SQL counting the customer's cases not yet closed."""
    return (
        "SELECT count(*) FROM followups f JOIN responses fr"
        " ON fr.tenant_id = f.tenant_id AND fr.id = f.response_id"
        f" WHERE f.tenant_id = {tenant} AND fr.customer_id = {customer}"
        " AND f.status <> 'closed'"
    )


_SELECT = f"""
SELECT c.customer_id AS feed_id, c.updated_at AS changed_at, c.previous_score,
       stats.n, stats.open_followups, lf.status AS case_status,
       coalesce(lf.status <> 'closed' AND lf.due_at < $2, false) AS case_overdue, latest.*
FROM customers c
CROSS JOIN LATERAL (
    SELECT count(*) AS n,
           ({open_followups_sql("c.tenant_id", "c.customer_id")}) AS open_followups
    FROM responses x WHERE x.tenant_id = c.tenant_id AND x.customer_id = c.customer_id
) stats
LEFT JOIN LATERAL (
    SELECT {COLUMNS} FROM responses r
    WHERE r.tenant_id = c.tenant_id AND r.id = c.latest_response_id
) latest ON true
LEFT JOIN followups lf ON lf.tenant_id = c.tenant_id AND lf.response_id = c.latest_response_id
"""
_RANK = "nps_category_rank(c.latest_score)"
_TREND = {
    Trend.DOWN: f"{_RANK} < nps_category_rank(c.previous_score)",
    Trend.UP: f"{_RANK} > nps_category_rank(c.previous_score)",
}
_FOLLOWUP = {
    FollowupState.NONE: "lf.id IS NULL",
    FollowupState.OPEN: "lf.status <> 'closed'",
    FollowupState.OVERDUE: "lf.status <> 'closed' AND lf.due_at < $2",
    FollowupState.CLOSED: "lf.status = 'closed'",
}


def changed_query(
    tenant_id: UUID,
    flt: CustomerFilter,
    after: tuple[datetime | None, str | None],
    now: datetime,
) -> tuple[str, list[Any]]:
    """The statement and its arguments; the page size is the last argument, still to add."""
    args: list[Any] = [tenant_id, now]

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["c.tenant_id = $1"]
    if flt.since is not None:
        where.append(f"c.updated_at >= {arg(flt.since)}")
    after_at, after_id = after
    if after_at is not None:
        where.append(f"(c.updated_at, c.customer_id) > ({arg(after_at)}, {arg(after_id)}::text)")
    if flt.category is not None:
        where.append(f"{_RANK} = {arg(CATEGORY_RANK[flt.category])}")
    where += _answered(flt.answered_from, flt.answered_to, arg)
    if flt.trend is not None:
        where.append(_TREND[flt.trend])
    if flt.followup is not None:
        where.append(_FOLLOWUP[flt.followup])
    sql = (
        f"{_SELECT} WHERE {' AND '.join(where)}"
        f" ORDER BY c.updated_at, c.customer_id LIMIT ${len(args) + 1}"
    )
    return sql, args


def _answered(start: date | None, end: date | None, arg: Any) -> list[str]:
    out = []
    if start is not None:
        out.append(f"c.latest_local_date >= {arg(start)}")
    if end is not None:
        out.append(f"c.latest_local_date <= {arg(end)}")
    return out


def customer_change(r: asyncpg.Record) -> CustomerChange:
    previous = r["previous_score"]
    return CustomerChange(
        customer_id=r["feed_id"],
        updated_at=r["changed_at"],
        latest=to_response(r) if r["id"] is not None else None,
        responses_count=r["n"],
        open_followups=r["open_followups"],
        previous_category=classify(previous) if previous is not None else None,
        followup_status=r["case_status"],
        followup_overdue=r["case_overdue"],
    )
