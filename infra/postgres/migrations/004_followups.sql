-- Follow-up cases opened with detractor answers; customers' change feed for CRM sync.
ALTER TABLE tenants
    ADD COLUMN followup_categories text[] NOT NULL DEFAULT '{detractor}',
    ADD COLUMN followup_sla_hours integer NOT NULL DEFAULT 48,
    ADD COLUMN settings_updated_at timestamptz;

-- The answer's survey, customer, score, comment and segments are read from responses, so an
-- erasure there reaches the cases too. No foreign key to responses: a case is inserted by
-- the statement that inserts its answer, and answers are never deleted; the key's check
-- (a locking look-up per case) cut batch ingest by a third.
CREATE TABLE followups (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    response_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'closed')),
    owner text,
    due_at timestamptz NOT NULL,
    first_contact_at timestamptz,
    closed_at timestamptz,
    resolution text,
    overdue_notified_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, response_id)
);
CREATE INDEX followups_by_time ON followups (tenant_id, created_at DESC, id DESC);
CREATE INDEX followups_due ON followups (due_at)
    WHERE status <> 'closed' AND overdue_notified_at IS NULL;

CREATE TABLE followup_notes (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    followup_id uuid NOT NULL,
    author text NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, followup_id) REFERENCES followups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX followup_notes_by_case ON followup_notes (tenant_id, followup_id, created_at);

-- One row per known customer, stamped when their data changes. Writers take the tenant's
-- clock row (a row lock held to commit) for the stamp, so stamps commit in order and a
-- reader paging by (updated_at, customer_id) never skips a change.
CREATE TABLE customer_clock (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    last timestamptz NOT NULL
);
CREATE TABLE customers (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    customer_id text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);
CREATE INDEX customers_changes ON customers (tenant_id, updated_at, customer_id);
INSERT INTO customers (tenant_id, customer_id, updated_at)
SELECT tenant_id, customer_id, max(received_at) FROM responses
WHERE customer_id IS NOT NULL GROUP BY tenant_id, customer_id;
INSERT INTO customer_clock (tenant_id, last)
SELECT tenant_id, max(updated_at) FROM customers GROUP BY tenant_id;
