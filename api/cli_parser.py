"""Arguments of the `nps` command."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nps",
        description="nps-api: serve the API and manage tenants, keys and counters. Settings "
        "come from NPS_* variables; without NPS_DATABASE_URL and NPS_REDIS_URL embedded "
        "servers are started.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="migrate, set up on first start, and serve the API")
    sub.add_parser("migrate", help="apply the SQL migrations")

    tenants = sub.add_parser("tenants", help="manage tenants").add_subparsers(
        dest="action", required=True
    )
    create = tenants.add_parser("create", help="create a tenant; prints its id")
    create.add_argument("--name", required=True)
    create.add_argument("--timezone", default="UTC", help="IANA time zone (default UTC)")

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    kc = keys.add_parser("create", help="create an API key; prints it once")
    kc.add_argument("--tenant", required=True)
    kc.add_argument("--name", required=True)
    kc.add_argument(
        "--scopes",
        default="responses:write,results:read",
        help="comma-separated: responses:write, results:read, manage",
    )
    kr = keys.add_parser("revoke", help="revoke an API key at once")
    kr.add_argument("--tenant", required=True)
    kr.add_argument("--key", required=True)

    counters = sub.add_parser("counters", help="Redis counters").add_subparsers(
        dest="action", required=True
    )
    for action, text in (
        (
            "verify",
            "compare every counter with PostgreSQL under live load; exit 1 on a"
            " difference, 2 when some tenants are not built yet",
        ),
        ("rebuild", "rebuild counters from PostgreSQL (all tenants by default)"),
    ):
        c = counters.add_parser(action, help=text)
        c.add_argument("--tenant", help="one tenant id")

    spec = sub.add_parser("openapi", help="write the OpenAPI spec")
    spec.add_argument("--output", default="openapi/openapi.json")
    return parser
