-- Decision analytics: changes a company made (with their impact) and NPS targets per scope.
CREATE TABLE changes (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    title text NOT NULL,
    description text,
    effective_on date NOT NULL,
    survey_id uuid,
    segment_dimension text,
    segment_value text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX changes_by_date ON changes (tenant_id, effective_on, id);

CREATE TABLE targets (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    survey_id uuid,
    segment_dimension text,
    segment_value text,
    nps double precision NOT NULL CHECK (nps BETWEEN -100 AND 100),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- One target per scope: (survey or all) x (one segment or none).
CREATE UNIQUE INDEX targets_scope ON targets (
    tenant_id,
    (coalesce(survey_id, '00000000-0000-0000-0000-000000000000'::uuid)),
    (coalesce(segment_dimension, '')),
    (coalesce(segment_value, ''))
);

ALTER TABLE responses ADD COLUMN exclusion_reason text;
