-- The browser channel: publishable keys (bound to surveys and web origins) and the origins
-- of browser tokens, which preflights consult (a token itself is never stored).
ALTER TABLE api_keys
    ADD COLUMN kind text NOT NULL DEFAULT 'secret' CHECK (kind IN ('secret', 'publishable')),
    ADD COLUMN surveys jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN origins text[] NOT NULL DEFAULT '{}';

CREATE TABLE token_origins (
    tenant_id uuid NOT NULL,
    key_id uuid NOT NULL,
    origin text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key_id, origin),
    FOREIGN KEY (tenant_id, key_id) REFERENCES api_keys (tenant_id, id)
);
CREATE INDEX token_origins_by_expiry ON token_origins (expires_at);
