-- Every query over answers is scoped by tenant and by a time or date range, and is served
-- by the indexes that begin with tenant_id. The GIN index on `segments` spanned every
-- tenant: a generic plan (a prepared statement, which cannot see that the segment filter
-- is empty) took it for `segments @> '{}'` and read every answer of every tenant (a 30-day
-- read of a 100 k-answer tenant took 459 ms beside a 10 M-answer tenant, 6.6 ms without
-- it), and each answer stored paid for its upkeep.
DROP INDEX IF EXISTS responses_segments;
