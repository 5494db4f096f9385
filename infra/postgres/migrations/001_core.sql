-- Core schema: every table carries tenant_id and every key starts with it.
CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    timezone text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    name text NOT NULL,
    scopes text[] NOT NULL,
    secret_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE surveys (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    name text NOT NULL,
    question text,
    kind text NOT NULL CHECK (kind IN ('relational', 'transactional')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    archived_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX surveys_by_created ON surveys (tenant_id, created_at DESC, id DESC);

CREATE TABLE responses (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    survey_id uuid NOT NULL,
    score smallint NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment text,
    customer_id text,
    segments jsonb NOT NULL DEFAULT '{}'::jsonb,
    answered_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    local_date date NOT NULL,
    locale text,
    external_id text,
    excluded boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, survey_id) REFERENCES surveys (tenant_id, id)
);
CREATE UNIQUE INDEX responses_external_id ON responses (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX responses_by_time ON responses (tenant_id, answered_at DESC, id DESC);
CREATE INDEX responses_by_survey_time ON responses (tenant_id, survey_id, answered_at DESC, id DESC);
CREATE INDEX responses_by_local_date ON responses (tenant_id, local_date);
CREATE INDEX responses_segments ON responses USING gin (segments jsonb_path_ops);

-- Idempotency-Key records: claimed before the work, completed in the work's transaction.
CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status_code integer,
    body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- One row per counter change, written in the answer's transaction (transactional outbox).
CREATE TABLE counter_outbox (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    response_id uuid,
    survey_id uuid NOT NULL,
    local_date date NOT NULL,
    score smallint NOT NULL,
    segments jsonb NOT NULL,
    delta smallint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Counter generations are never reused, even when Redis loses everything.
CREATE SEQUENCE counter_generation;

-- Operator secrets created on first start (only hashes are kept).
CREATE TABLE service_secrets (
    name text PRIMARY KEY,
    secret_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
