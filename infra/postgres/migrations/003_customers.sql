-- Customers: look-ups by customer id, and an audit log of erasures (without the erased data).
CREATE INDEX responses_by_customer ON responses (tenant_id, customer_id, answered_at DESC)
    WHERE customer_id IS NOT NULL;

CREATE TABLE audit_log (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    action text NOT NULL,
    actor_key_id uuid,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_by_time ON audit_log (tenant_id, created_at DESC, id DESC);
