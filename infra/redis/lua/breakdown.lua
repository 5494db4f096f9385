-- Sum counter hashes per value of one dimension over a list of buckets (one round trip).
-- KEYS[1] meta. ARGV: tenant prefix, scope, dimension, mode ('one': only ARGV[5], 'all':
-- every value seen), value, the caller's cached tag ('' for none), the bucket names joined
-- by commas.
-- Returns {-1} when meta is missing, {0} when not ready, {2} when the counters are still
-- as they were when the caller's tag was returned (its cached answer is exact), else
-- {1, tag, value, 11 sums, ...}. The tag is "gen:ver": any apply or rebuild changes it.
local meta = redis.call('HMGET', KEYS[1], 'state', 'gen', 'ver')
if not meta[1] then
  return {-1}
end
if meta[1] ~= 'ready' then
  return {0}
end
local tag = meta[2] .. ':' .. (meta[3] or '0')
if ARGV[6] == tag then
  return {2}
end
local gen = ARGV[1] .. 'g' .. meta[2] .. ':'
local base = gen .. 'h:' .. ARGV[2] .. ':'
local values
if ARGV[4] == 'one' then
  values = {ARGV[5]}
else
  values = redis.call('SMEMBERS', gen .. 'v:' .. ARGV[3])
end
local out = {1, tag}
for _, value in ipairs(values) do
  local seg = ':' .. ARGV[3] .. '=' .. value
  local sums = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
  for bucket in string.gmatch(ARGV[7], '[^,]+') do
    local bins = redis.call('HMGET', base .. bucket .. seg,
      '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10')
    for s = 1, 11 do
      if bins[s] then sums[s] = sums[s] + tonumber(bins[s]) end
    end
  end
  out[#out + 1] = value
  for s = 1, 11 do out[#out + 1] = sums[s] end
end
return out
