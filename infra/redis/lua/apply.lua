-- Apply outbox rows to one generation of a tenant's counters, each writing transaction at
-- most once. KEYS[1] meta, KEYS[2] applied set. ARGV: expected state, expected gen, the
-- generation's key prefix, then the rows as JSON, grouped by writing transaction:
--   [[xid, [[survey, day bucket, month bucket, score, delta, {dimension: value}], ...]], ...]
-- Each row counts in (survey, all) x (day, month) x (no segment, each of its segments); the
-- deltas are summed here per (key, score), so a batch costs one HINCRBY per distinct pair.
-- The keys are built from the prefix and share KEYS[1]'s {tenant} hash tag.
-- Refuses (returns {0, state, gen}, and marks the counters behind) unless meta matches; else {1, transactions applied now}
-- (a transaction already in the applied set is skipped: a retry never counts twice).
-- Every (scope, bucket) that changes has its version in the generation's `bv` hash bumped:
-- a cached breakdown compares the versions of its buckets to tell what it must read again.
local meta = redis.call('HMGET', KEYS[1], 'state', 'gen')
if meta[1] ~= ARGV[1] or meta[2] ~= ARGV[2] then
  if meta[1] then  -- the caller's rows stay in the outbox: readers must not trust the counters
    redis.call('HINCRBY', KEYS[1], 'behind', 1)
  end
  return {0, meta[1] or '', meta[2] or ''}
end
local prefix = ARGV[3]
local hist = prefix .. 'h:'
local sums, members, touched = {}, {}, {}
local applied = 0
for _, group in ipairs(cjson.decode(ARGV[4])) do
  if redis.call('SADD', KEYS[2], group[1]) == 1 then
    applied = applied + 1
    for _, row in ipairs(group[2]) do
      local score, delta = tostring(row[4]), row[5]
      local segs = {'_'}
      for dimension, value in pairs(row[6]) do
        local seg = dimension .. '=' .. value
        segs[#segs + 1] = seg
        members[seg] = dimension
      end
      for _, scope in ipairs({row[1], 'all'}) do
        for b = 2, 3 do
          touched[scope .. ':' .. row[b]] = true
          local base = hist .. scope .. ':' .. row[b] .. ':'
          for _, seg in ipairs(segs) do
            local key = base .. seg
            local bins = sums[key]
            if not bins then
              bins = {}
              sums[key] = bins
            end
            bins[score] = (bins[score] or 0) + delta
          end
        end
      end
    end
  end
end
for key, bins in pairs(sums) do
  for score, delta in pairs(bins) do
    if delta ~= 0 then
      redis.call('HINCRBY', key, score, delta)
    end
  end
end
for seg, dimension in pairs(members) do
  redis.call('SADD', prefix .. 'dims', dimension)
  redis.call('SADD', prefix .. 'v:' .. dimension, string.sub(seg, #dimension + 2))
end
for field in pairs(touched) do
  redis.call('HINCRBY', prefix .. 'bv', field, 1)
end
return {1, applied}
