"""One way through the code: controllers call use-cases, only the unit of work transacts.

1. No module of `api/` outside the composition root reaches a repository: it never reads a
   repository off the services (`services.<repository>`), never opens a unit of work
   itself (`.uow(...)`: that is the use-case's job) and never touches a unit of work's
   repositories (`tx.<repository>`).
2. No module under `infra/` acquires a connection or opens a transaction (`.acquire(`,
   `.transaction(`), and no module under `infra/postgres/` runs SQL on the pool
   (`pool.fetch(...)`), except the unit of work (`infra/postgres/uow.py`) and the
   documented exceptions listed below.

Each rule is also run on a planted violation, so a scan that finds nothing cannot pass by
finding nothing anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = {"api/app.py", "api/cli.py", "api/serve.py"}

# What `Services` (api/services.py) may carry besides repositories, and why it is not one.
NOT_REPOSITORIES = {
    "uow": "the unit-of-work factory, handed to use-cases",
    "ingestor": "the answer write path's port (the group-commit batcher)",
    "counters": "the Redis counter store (histograms and tenant set-up)",
    "stored_histograms": "PostgreSQL histograms, each read in a unit of work (domain.results)",
    "admin_token_hash": "a value",
    "principals": "the per-process cache of authenticated keys",
    "target_cache": "the per-process cache of targets",
    "webhook_targets": "the DNS check of webhook targets",
    "analyzer": "the comment tokeniser (pure computation)",
    "check_database": "the readiness probe",
    "check_redis": "the readiness probe",
    "token_secret": "a value",
    "browser_origins": "the per-process index of allowed web origins (preflights)",
    "rate_limits": "the rate limiter",
    "metrics": "the Prometheus exposition",
    "clock": "the clock",
    "authenticate": "a method calling the authentication use-cases",
}
# Modules allowed to acquire a connection, open a transaction or run SQL on the pool.
TRANSACTION_EXCEPTIONS = {
    # The pool itself: its acquire() adds the acquire timeout.
    "infra/postgres/pool.py",
    # Migrations run before the service serves, one transaction per migration.
    "infra/postgres/migrate.py",
    # First start: creates the admin secret under a transaction-level advisory lock,
    # before any request or unit of work exists.
    "infra/bootstrap.py",
    # The group-commit batcher: one transaction spans the submissions of many requests
    # and tenants, which no single use-case owns (docs/architecture.md, write path). The
    # same module flips an answer's exclusion in a transaction of its own (its counter
    # change takes the batcher's outbox path) and deletes applied outbox rows.
    "infra/ingest.py",
    # The counter protocol's own transactions: the rebuild's and verify's snapshots
    # (REPEATABLE READ, pg_visible_in_snapshot), the drainer's per-tenant applies, the
    # backlog's start-up marks, and the whole-tenant aggregate's savepoint inside them.
    "infra/counter_sync/rebuild.py",
    "infra/counter_sync/verify.py",
    "infra/counter_sync/drain.py",
    "infra/redis/resilient.py",
    "infra/postgres/results.py",
    # The restricted tenant role's set-up at start (row-level security): created and granted
    # under a transaction-level advisory lock, then checked, before any unit of work exists.
    "infra/postgres/roles.py",
    # The Idempotency-Key purge, one DELETE across tenants on the pool (a background job).
    "infra/postgres/idempotency.py",
}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _services_fields() -> set[str]:
    tree = ast.parse((ROOT / "api/services.py").read_text())
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Services"]
    fields = {
        n.target.id
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    methods = {n.name for n in cls.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)}
    return fields | methods


def _repository_names() -> set[str]:
    """Attribute names a controller must not read off the services or a unit of work."""
    tree = ast.parse((ROOT / "domain/ports.py").read_text())
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "UnitOfWork"]
    on_uow = {
        n.target.id
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    on_services = _services_fields() - set(NOT_REPOSITORIES)
    return on_uow | on_services


def _is_services(node: ast.expr, bound: set[str]) -> bool:
    """`services`, a name bound to the services, `services_of(...)` or `<x>.state.services`."""
    if isinstance(node, ast.Name):
        return node.id in bound
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "services_of"
    return isinstance(node, ast.Attribute) and node.attr == "services"


def _bound_to_services(tree: ast.AST) -> set[str]:
    bound = {"services"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_services(node.value, bound):
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.arg) and isinstance(node.annotation, ast.Name | ast.Constant):
            note = node.annotation
            name = note.id if isinstance(note, ast.Name) else note.value
            if name == "Services":
                bound.add(node.arg)
    return bound


def api_violations(source: str, repositories: set[str]) -> list[str]:
    """Where `source` (an api module) reaches a repository or opens a unit of work."""
    tree = ast.parse(source)
    bound = _bound_to_services(tree)
    tx_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncWith):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    tx_names.add(item.optional_vars.id)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        called = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if called and node.func.attr == "uow":  # type: ignore[attr-defined]
            found.append((node.lineno, "opens a unit of work (.uow(...))"))
        if isinstance(node, ast.Attribute) and node.attr in repositories:
            owner = node.value
            if _is_services(owner, bound):
                found.append((node.lineno, f"services.{node.attr}"))
            elif isinstance(owner, ast.Name) and owner.id in tx_names:
                found.append((node.lineno, f"{owner.id}.{node.attr}"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def transaction_violations(source: str, *, sql_on_pool: bool) -> list[str]:
    """Where `source` acquires a connection, opens a transaction or (in infra/postgres)
    runs a statement on the pool."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, owner = node.func.attr, node.func.value
        if name in {"acquire", "transaction"}:
            found.append((node.lineno, f".{name}("))
        elif sql_on_pool and _names_a_pool(owner):
            found.append((node.lineno, f"pool.{name}("))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def _names_a_pool(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return "pool" in node.id
    return isinstance(node, ast.Attribute) and "pool" in node.attr


def _api_modules() -> list[Path]:
    return [p for p in sorted((ROOT / "api").rglob("*.py")) if _rel(p) not in COMPOSITION_ROOT]


def test_no_api_module_reaches_a_repository() -> None:
    repositories = _repository_names()
    bad = {
        _rel(p): found
        for p in _api_modules()
        if (found := api_violations(p.read_text(), repositories))
    }
    assert not bad, bad


def test_only_the_unit_of_work_opens_transactions() -> None:
    allowed = {"infra/postgres/uow.py"} | TRANSACTION_EXCEPTIONS
    bad = {
        _rel(p): found
        for p in sorted((ROOT / "infra").rglob("*.py"))
        if _rel(p) not in allowed
        and (
            found := transaction_violations(
                p.read_text(), sql_on_pool=_rel(p).startswith("infra/postgres/")
            )
        )
    }
    assert not bad, bad


def test_services_carry_no_repository_left_unlisted() -> None:
    """A new field on Services is either said not to be a repository, or fails here."""
    unknown = _services_fields() - set(NOT_REPOSITORIES)
    assert not unknown, f"repositories belong on the unit of work, not Services: {unknown}"


def test_the_exceptions_are_still_needed() -> None:
    """An exception that no longer opens anything is dropped from the lists."""
    stale = []
    for rel in sorted(TRANSACTION_EXCEPTIONS):
        path = ROOT / rel
        if not path.exists() or not transaction_violations(path.read_text(), sql_on_pool=True):
            stale.append(rel)
    assert not stale, stale


PLANTED_CONTROLLER = """
async def handler(request):
    services = services_of(request)
    return await services.followups.get(tenant_id=t, case_id=c)

async def other(request):
    return await services_of(request).webhooks.list(tenant_id=t)

async def third(request, s: Services):
    async with s.uow(t) as tx:
        return await tx.surveys.get(tenant_id=t, survey_id=i)
"""

PLANTED_REPOSITORY = """
class PgThings:
    async def add(self, thing):
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT ...")

    async def count(self):
        return await self._pool.fetchval("SELECT count(*) FROM things")
"""


def test_the_api_scan_catches_a_planted_violation() -> None:
    found = api_violations(PLANTED_CONTROLLER, {"followups", "webhooks", "surveys"})
    assert [f.split(":")[0] for f in found] == ["line 4", "line 7", "line 10", "line 11"]
    assert "services.followups" in found[0] and "services.webhooks" in found[1]
    assert "unit of work" in found[2] and "tx.surveys" in found[3]


def test_the_transaction_scan_catches_a_planted_violation() -> None:
    found = transaction_violations(PLANTED_REPOSITORY, sql_on_pool=True)
    assert found == ["line 4: .acquire(", "line 4: .transaction(", "line 8: pool.fetchval("]
    assert transaction_violations(PLANTED_REPOSITORY, sql_on_pool=False)[:2] == found[:2]


@pytest.mark.parametrize("name", sorted(NOT_REPOSITORIES))
def test_what_services_may_carry_is_still_there(name: str) -> None:
    assert name in _services_fields(), f"drop {name} from NOT_REPOSITORIES"
