-- Sum counter hashes per value of one dimension, per group of buckets (one round trip),
-- only for the groups that changed since the caller read them.
-- KEYS[1] meta. ARGV: tenant prefix, the caller's layout version, scope, dimension, mode
-- ('one': only ARGV[6], 'all': every value seen), value, the generation the caller's
-- versions belong to ('' for none), then per group: its bucket names joined by commas, and
-- the caller's version of the group ('-' for none; see groups.lua): ARGV[8], ARGV[9] for
-- the first group, ARGV[10], ARGV[11] for the next...
-- Returns {-1} when meta is missing, {-2, layout, gen} when the generation was written
-- with another layout version, {0} when not ready (or behind, see mark_behind.lua), else
-- {1, gen, then per changed group: its index (1-based), its version, the count n of values
-- with answers, and n x (value, 11 sums)}.
local meta = redis.call('HMGET', KEYS[1], LAYOUT.state, LAYOUT.gen, LAYOUT.behind, LAYOUT.layout)
if not meta[1] then
  return {-1}
end
local layout = meta[4] or LAYOUT.unversioned
if layout ~= ARGV[2] then
  return {-2, layout, meta[2] or ''}
end
if meta[1] ~= LAYOUT.ready or meta[3] then  -- behind: committed changes wait in the outbox
  return {0}
end
local gen = ARGV[1] .. LAYOUT.gen_prefix .. meta[2] .. ':'
local scope = ARGV[3]
local base = gen .. LAYOUT.hist .. scope .. ':'
local values
if ARGV[5] == 'one' then
  values = {ARGV[6]}
else
  values = redis.call('SMEMBERS', gen .. LAYOUT.values .. ARGV[4])
end
local out = {1, meta[2]}
for _, group in ipairs(changed_groups(8, gen, scope, ARGV[7] == meta[2])) do
  out[#out + 1] = group[1]
  out[#out + 1] = group[2]
  local count = #out + 1
  out[count] = 0
  for _, value in ipairs(values) do
    local seg = ':' .. ARGV[4] .. LAYOUT.segment_separator .. value
    local sums = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
    local any = false
    for _, bucket in ipairs(group[3]) do
      local bins = redis.call('HMGET', base .. bucket .. seg,
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10')
      for s = 1, 11 do
        if bins[s] then
          sums[s] = sums[s] + tonumber(bins[s])
          any = true
        end
      end
    end
    if any then
      out[count] = out[count] + 1
      out[#out + 1] = value
      for s = 1, 11 do out[#out + 1] = sums[s] end
    end
  end
end
return out
