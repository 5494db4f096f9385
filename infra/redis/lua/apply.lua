-- Apply outbox rows to one generation of a tenant's counters, each writing transaction at
-- most once. KEYS[1] meta, KEYS[2] applied set, KEYS[3..] counter hashes and dimension sets.
-- ARGV: expected state, expected gen, group count G, then per group:
--   transaction id (xid), op count n, n x (key index, field, delta);
-- then set-add count S and S x (key index, member).
-- Refuses (returns {0, state, gen}) unless meta matches; else {1, transactions applied now}
-- (a transaction already in the applied set is skipped: a retry never counts twice).
-- Meta's `ver` counts the applies that changed something: cached reads compare it.
local meta = redis.call('HMGET', KEYS[1], 'state', 'gen')
if meta[1] ~= ARGV[1] or meta[2] ~= ARGV[2] then
  return {0, meta[1] or '', meta[2] or ''}
end
local i = 4
local applied = 0
for _ = 1, tonumber(ARGV[3]) do
  local id = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  if redis.call('SADD', KEYS[2], id) == 1 then
    for _ = 1, n do
      redis.call('HINCRBY', KEYS[tonumber(ARGV[i])], ARGV[i + 1], tonumber(ARGV[i + 2]))
      i = i + 3
    end
    applied = applied + 1
  else
    i = i + 3 * n
  end
end
if applied > 0 then
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
end
local s = tonumber(ARGV[i])
i = i + 1
for _ = 1, s do
  redis.call('SADD', KEYS[tonumber(ARGV[i])], ARGV[i + 1])
  i = i + 2
end
return {1, applied}
