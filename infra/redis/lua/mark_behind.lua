-- The tenant's counters are behind: committed changes wait in the outbox that no applier
-- will apply before the drainer does (Redis was away, or the counters were being rebuilt
-- when they committed). Reads go to PostgreSQL while `behind` is set; the drainer clears
-- it (clear_behind.lua) once it has applied every row that was waiting when it looked.
-- KEYS[1] meta. Counts up, so that a clear can tell a mark made after it looked.
-- Missing meta is left alone: the rebuild that creates it counts everything committed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HINCRBY', KEYS[1], LAYOUT.behind, 1)
end
return 0
