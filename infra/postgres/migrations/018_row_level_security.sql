-- Row-level security, a second wall behind every statement's own `WHERE tenant_id`.
--
-- Every table with a tenant_id column, and tenants itself (by id), has RLS enabled and
-- forced, with two policies:
--   tenant_isolation  (every role): only the rows of the tenant the transaction set with
--                     SET LOCAL nps.tenant_id (set_config(..., true)); no tenant set (NULL, or ''
--                     after an earlier transaction's local setting ended) matches nothing.
--                     The setting is read by a stable expression, so the planner evaluates it
--                     once per scan and uses it as an index key (tenant_id first in every key).
--   cross_tenant_work (the role running this migration, the tables' owner): every row. The
--                     owner serves what spans tenants (group commit, drain, rebuild, relay,
--                     schedulers, retention, the operator's tenant admin); the service's
--                     restricted login role (infra/postgres/roles.py) is not that role.
-- service_secrets and schema_migrations carry no tenant: the restricted role has no grant
-- on them at all. A table added later must do the same (tests/integration/
-- test_row_level_security.py fails otherwise).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.relname,
               CASE WHEN c.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END AS col
        FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
          AND (c.relname = 'tenants' OR EXISTS (
              SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.relname);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (%I = nullif(current_setting(%L, true), %L)::uuid)',
            t.relname, t.col, 'nps.tenant_id', '');
        EXECUTE format(
            'CREATE POLICY cross_tenant_work ON %I TO CURRENT_USER USING (true) WITH CHECK (true)',
            t.relname);
    END LOOP;
END
$$;
