-- Where each customer stands, kept on the customer row so that the reward and rescue lists
-- are read from an index instead of every answer: the latest and the previous answer that
-- is not excluded. Kept by infra/postgres/customers.py whenever a customer is stamped.

-- The category rank of a score: 0 detractor (0-6), 1 passive (7-8), 2 promoter (9-10).
-- domain.nps.classify is the rule; a test compares the two for every score.
CREATE FUNCTION nps_category_rank(score smallint) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (CASE WHEN score >= 9 THEN 2 WHEN score >= 7 THEN 1 WHEN score >= 0 THEN 0 END)::smallint $$;

ALTER TABLE customers
    ADD COLUMN latest_response_id uuid,
    ADD COLUMN latest_score smallint,
    ADD COLUMN latest_local_date date,
    ADD COLUMN previous_score smallint;

UPDATE customers c
SET latest_response_id = s.ids[1], latest_score = s.scores[1], latest_local_date = s.dates[1],
    previous_score = s.scores[2]
FROM customers c2
CROSS JOIN LATERAL (
    SELECT array_agg(x.id ORDER BY x.answered_at DESC, x.id DESC) AS ids,
           array_agg(x.score ORDER BY x.answered_at DESC, x.id DESC) AS scores,
           array_agg(x.local_date ORDER BY x.answered_at DESC, x.id DESC) AS dates
    FROM (
        SELECT r.id, r.score, r.answered_at, r.local_date FROM responses r
        WHERE r.tenant_id = c2.tenant_id AND r.customer_id = c2.customer_id AND NOT r.excluded
        ORDER BY r.answered_at DESC, r.id DESC LIMIT 2
    ) x
) s
WHERE c.tenant_id = c2.tenant_id AND c.customer_id = c2.customer_id;

-- category=…: in feed order, so a page stops after `limit` rows.
CREATE INDEX customers_by_category ON customers
    (tenant_id, nps_category_rank(latest_score), updated_at, customer_id);
-- trend=down: the latest answer's category is worse than the previous one's; trend=up: better.
CREATE INDEX customers_trending_down ON customers (tenant_id, updated_at, customer_id)
    WHERE nps_category_rank(latest_score) < nps_category_rank(previous_score);
CREATE INDEX customers_trending_up ON customers (tenant_id, updated_at, customer_id)
    WHERE nps_category_rank(latest_score) > nps_category_rank(previous_score);
