-- Rate limits per tenant, set by the operator; NULL keeps the service default (NPS_RATE_LIMIT_*).
ALTER TABLE tenants
    ADD COLUMN rate_per_key integer CHECK (rate_per_key > 0),
    ADD COLUMN rate_per_tenant integer CHECK (rate_per_tenant > 0),
    ADD COLUMN rate_window_s integer CHECK (rate_window_s > 0);
