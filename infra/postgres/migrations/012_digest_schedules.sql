-- The huddle digest a tenant has scheduled, and the periods already sent: the primary key
-- of digest_sends is what makes a period's digest go out once, however many processes
-- run the scheduler (the row and the webhook event commit in one transaction).
CREATE TABLE digest_schedules (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    enabled boolean NOT NULL,
    period text NOT NULL CHECK (period IN ('week', 'month')),
    weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    hour smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    dimensions text[] NOT NULL DEFAULT '{}',
    enabled_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE INDEX digest_schedules_enabled ON digest_schedules (tenant_id) WHERE enabled;

CREATE TABLE digest_sends (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    period text NOT NULL,
    period_start date NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, period, period_start)
);
