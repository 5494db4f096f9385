-- Sum counter hashes per value of one dimension, per group of buckets (one round trip),
-- only for the groups that changed since the caller read them.
-- KEYS[1] meta. ARGV: tenant prefix, scope, dimension, mode ('one': only ARGV[5], 'all':
-- every value seen), value, the generation the caller's versions belong to ('' for none),
-- then per group: its bucket names joined by commas, and the caller's version of the group
-- ('-' for none; see groups.lua): ARGV[7], ARGV[8] for the first group, ARGV[9], ARGV[10]
-- for the next...
-- Returns {-1} when meta is missing, {0} when not ready (or behind, see mark_behind.lua), else {1, gen, then per changed
-- group: its index (1-based), its version, the count n of values with answers, and n x
-- (value, 11 sums)}.
local meta = redis.call('HMGET', KEYS[1], 'state', 'gen', 'behind')
if not meta[1] then
  return {-1}
end
if meta[1] ~= 'ready' or meta[3] then  -- behind: committed changes wait in the outbox
  return {0}
end
local gen = ARGV[1] .. 'g' .. meta[2] .. ':'
local scope = ARGV[2]
local base = gen .. 'h:' .. scope .. ':'
local values
if ARGV[4] == 'one' then
  values = {ARGV[5]}
else
  values = redis.call('SMEMBERS', gen .. 'v:' .. ARGV[3])
end
local out = {1, meta[2]}
for _, group in ipairs(changed_groups(7, gen, scope, ARGV[6] == meta[2])) do
  out[#out + 1] = group[1]
  out[#out + 1] = group[2]
  local count = #out + 1
  out[count] = 0
  for _, value in ipairs(values) do
    local seg = ':' .. ARGV[3] .. '=' .. value
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
