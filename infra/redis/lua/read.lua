-- Sum counter hashes per group of buckets, in the generation meta names (one round trip).
-- KEYS[1] meta. ARGV: tenant prefix, scope (survey id or 'all'), seg, group count G,
-- then per group: bucket count c and c bucket names.
-- Returns {-1} when meta is missing, {0} when not ready, else {1, 11 sums per group}.
-- The keys are built here from meta's gen; they share KEYS[1]'s {tenant} hash tag.
local meta = redis.call('HMGET', KEYS[1], 'state', 'gen')
if not meta[1] then
  return {-1}
end
if meta[1] ~= 'ready' then
  return {0}
end
local base = ARGV[1] .. 'g' .. meta[2] .. ':h:' .. ARGV[2] .. ':'
local seg = ':' .. ARGV[3]
local out = {1}
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local sums = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
  local c = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, c do
    local bins = redis.call('HMGET', base .. ARGV[i] .. seg,
      '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10')
    for s = 1, 11 do
      if bins[s] then sums[s] = sums[s] + tonumber(bins[s]) end
    end
    i = i + 1
  end
  for s = 1, 11 do out[#out + 1] = sums[s] end
end
return out
