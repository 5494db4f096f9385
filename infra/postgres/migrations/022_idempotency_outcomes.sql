-- An Idempotency-Key records its request's outcome (the domain's, msgspec JSON: see
-- infra/postgres/idempotency.py), no longer the HTTP status and body it was answered with:
-- api/ renders the answer from the outcome after the commit, the first time and on every
-- replay alike.
ALTER TABLE idempotency_keys ADD COLUMN outcome bytea;

-- The outcome of a key recorded as a status and body (before this migration, or by a
-- process of the previous version during a rolling deploy): the answer parsed back into
-- the outcome it was rendered from, so that its replay renders the same bytes. Such rows
-- are read through this function rather than rewritten here; they are purged with every
-- other key after 48 hours. An answer's local_date is not in its body: it is read from the
-- stored answer (the date it was answered, as written, if that is gone); no answer
-- renders it.
CREATE FUNCTION nps_recorded_outcome(tenant uuid, status integer, body bytea) RETURNS bytea
LANGUAGE sql STABLE AS $$
SELECT convert_to(CASE WHEN b ? 'results' THEN jsonb_build_object(
    'type', 'batch',
    'items', coalesce((
        SELECT jsonb_agg(CASE (r ->> 'status')::int
            WHEN 201 THEN jsonb_build_object('outcome', 'created', 'id', r -> 'id')
            WHEN 200 THEN jsonb_build_object('outcome', 'existing', 'id', r -> 'id')
            WHEN 404 THEN jsonb_build_object('outcome', 'survey_not_found')
            WHEN 409 THEN jsonb_build_object('outcome', 'survey_archived')
            ELSE jsonb_strip_nulls(jsonb_build_object(
                'outcome', 'invalid',
                'detail', r -> 'error' -> 'detail',
                'errors', r -> 'error' -> 'errors'))
        END ORDER BY (r ->> 'index')::int)
        FROM jsonb_array_elements(b -> 'results') AS r), '[]'::jsonb))
ELSE jsonb_build_object(
    'type', 'answer',
    'outcome', CASE status WHEN 201 THEN 'created' ELSE 'existing' END,
    'response', (b - 'category') || jsonb_build_object(
        'tenant_id', tenant,
        'local_date', coalesce(
            (SELECT a.local_date FROM responses a
             WHERE a.tenant_id = tenant AND a.id = (b ->> 'id')::uuid),
            (b ->> 'answered_at')::date)))
END::text, 'UTF8')
FROM (SELECT convert_from(body, 'UTF8')::jsonb AS b) AS j
$$;
