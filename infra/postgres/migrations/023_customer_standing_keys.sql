-- The order keys of a customer's latest and previous answers, kept beside their scores, so
-- that a new answer updates the customer's standing from the customer row alone (its
-- primary key) instead of looking up their answers: that look-up's plan depends on the
-- statistics of `responses`, and a plan made while the table was small or stale could
-- walk every answer of the tenant for each customer (infra/postgres/customers.py).
ALTER TABLE customers
    ADD COLUMN latest_answered_at timestamptz,
    ADD COLUMN previous_response_id uuid,
    ADD COLUMN previous_answered_at timestamptz;

UPDATE customers c
SET latest_answered_at = s.ats[1], previous_response_id = s.ids[2], previous_answered_at = s.ats[2]
FROM customers c2
CROSS JOIN LATERAL (
    SELECT array_agg(x.id ORDER BY x.answered_at DESC, x.id DESC) AS ids,
           array_agg(x.answered_at ORDER BY x.answered_at DESC, x.id DESC) AS ats
    FROM (
        SELECT r.id, r.answered_at FROM responses r
        WHERE r.tenant_id = c2.tenant_id AND r.customer_id = c2.customer_id AND NOT r.excluded
        ORDER BY r.answered_at DESC, r.id DESC LIMIT 2
    ) x
) s
WHERE c.tenant_id = c2.tenant_id AND c.customer_id = c2.customer_id;
