-- Sum counter hashes per group of buckets, in the generation meta names (one round trip).
-- KEYS[1] meta. ARGV: tenant prefix, scope (survey id or 'all'), seg, then per group its
-- bucket names joined by commas (one argument per group: a long period stays cheap to send).
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
for g = 4, #ARGV do
  local sums = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
  for bucket in string.gmatch(ARGV[g], '[^,]+') do
    local bins = redis.call('HMGET', base .. bucket .. seg,
      '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10')
    for s = 1, 11 do
      if bins[s] then sums[s] = sums[s] + tonumber(bins[s]) end
    end
  end
  for s = 1, 11 do out[#out + 1] = sums[s] end
end
return out
