-- Apply outbox rows to one generation of a tenant's counters, each writing transaction at
-- most once. Names come from LAYOUT (infra/redis/layout.py, put before this script).
-- KEYS[1] meta, KEYS[2] applied set. ARGV: expected state, expected gen, the caller's
-- layout version, the generation's key prefix, then the rows as JSON (layout.ApplyTransaction):
--   [{xid, rows: [{survey, day, month, score, delta, segments: {dimension: value}}, ...]}, ...]
-- Each row counts in (survey, all) x (day, month) x (no segment, each of its segments)
-- (layout.cells); the deltas are summed here per (key, score), so a batch costs one HINCRBY
-- per distinct pair. The keys are built from the prefix and share KEYS[1]'s {tenant} hash tag.
-- Refuses (returns {0, state, gen, layout}, and marks the counters behind) unless meta
-- matches, its layout version included; else {1, transactions applied now}
-- (a transaction already in the applied set is skipped: a retry never counts twice).
-- Every (scope, bucket) that changes has its version in the generation's versions hash
-- bumped: a cached read compares the versions of its buckets to tell what it must read again.
local meta = redis.call('HMGET', KEYS[1], LAYOUT.state, LAYOUT.gen, LAYOUT.layout)
local layout = meta[3] or LAYOUT.unversioned
if meta[1] ~= ARGV[1] or meta[2] ~= ARGV[2] or layout ~= ARGV[3] then
  if meta[1] then  -- the caller's rows stay in the outbox: readers must not trust the counters
    redis.call('HINCRBY', KEYS[1], LAYOUT.behind, 1)
  end
  return {0, meta[1] or '', meta[2] or '', meta[1] and layout or ''}
end
local prefix = ARGV[4]
local hist = prefix .. LAYOUT.hist
local sums, members, touched = {}, {}, {}
local applied = 0
for _, transaction in ipairs(cjson.decode(ARGV[5])) do
  if redis.call('SADD', KEYS[2], transaction.xid) == 1 then
    applied = applied + 1
    for _, row in ipairs(transaction.rows) do
      local score, delta = tostring(row.score), row.delta
      local segs = {LAYOUT.no_segment}
      for dimension, value in pairs(row.segments) do
        local seg = dimension .. LAYOUT.segment_separator .. value
        segs[#segs + 1] = seg
        members[seg] = dimension
      end
      local row_buckets = {row.day, row.month}
      for _, scope in ipairs({row.survey, LAYOUT.all_surveys}) do
        for _, bucket in ipairs(row_buckets) do
          touched[scope .. ':' .. bucket] = true
          local base = hist .. scope .. ':' .. bucket .. ':'
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
  redis.call('SADD', prefix .. LAYOUT.dims, dimension)
  redis.call('SADD', prefix .. LAYOUT.values .. dimension, string.sub(seg, #dimension + #LAYOUT.segment_separator + 1))
end
for field in pairs(touched) do
  redis.call('HINCRBY', prefix .. LAYOUT.versions, field, 1)
end
return {1, applied}
