"""Keeping Redis counters equal to PostgreSQL: rebuild, outbox drain, verify.

Rebuild of one tenant, without stopping ingestion (ARCHITECTURE.md):
1. meta := rebuilding with a new generation; appliers of the old one are refused and
   keep their outbox rows; reads go to PostgreSQL.
2. In a REPEATABLE READ transaction take snapshot S and aggregate the tenant's answers;
   write them into the new generation's keys.
3. Delete the outbox rows S saw: the aggregate contains them.
4. Apply the remaining rows (committed after S) to the new generation, delete them.
5. meta := ready with the new generation (only if still rebuilding it); drop old keys.
Every row deleted by an applier before step 1 committed before S, so it is counted once.
"""

from infra.counter_sync.drain import OutboxDrainer, drain_tenant
from infra.counter_sync.rebuild import RebuildAborted, fold, rebuild
from infra.counter_sync.verify import verify

__all__ = ["OutboxDrainer", "RebuildAborted", "drain_tenant", "fold", "rebuild", "verify"]
