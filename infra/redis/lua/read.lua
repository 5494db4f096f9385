-- Sum counter hashes per group of buckets, in the generation meta names (one round trip),
-- only for the groups that changed since the caller read them.
-- KEYS[1] meta. ARGV: tenant prefix, scope (survey id or 'all'), seg, the generation the
-- caller's versions belong to ('' for none), then per group: its bucket names joined by
-- commas, and the caller's version of the group ('-' for none).
-- A group's version is the sum of its buckets' versions in the generation's `bv` hash (see
-- breakdown.lua): an equal sum means that the caller's sums for the group are exact.
-- Returns {-1} when meta is missing, {0} when not ready, else {1, gen, then per changed
-- group: its index (1-based), its version, 11 sums}.
-- The keys are built here from meta's gen; they share KEYS[1]'s {tenant} hash tag.
local meta = redis.call('HMGET', KEYS[1], 'state', 'gen')
if not meta[1] then
  return {-1}
end
if meta[1] ~= 'ready' then
  return {0}
end
local gen = ARGV[1] .. 'g' .. meta[2] .. ':'
local scope = ARGV[2]
local base = gen .. 'h:' .. scope .. ':'
local seg = ':' .. ARGV[3]
local same_gen = ARGV[4] == meta[2]
local out = {1, meta[2]}
local group = 0
for g = 5, #ARGV, 2 do
  group = group + 1
  local buckets, fields = {}, {}
  for bucket in string.gmatch(ARGV[g], '[^,]+') do
    buckets[#buckets + 1] = bucket
    fields[#fields + 1] = scope .. ':' .. bucket
  end
  local version = 0
  for _, v in ipairs(redis.call('HMGET', gen .. 'bv', unpack(fields))) do
    if v then version = version + tonumber(v) end
  end
  if not same_gen or ARGV[g + 1] ~= tostring(version) then
    local sums = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
    for _, bucket in ipairs(buckets) do
      local bins = redis.call('HMGET', base .. bucket .. seg,
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10')
      for s = 1, 11 do
        if bins[s] then sums[s] = sums[s] + tonumber(bins[s]) end
      end
    end
    out[#out + 1] = group
    out[#out + 1] = tostring(version)
    for s = 1, 11 do out[#out + 1] = sums[s] end
  end
end
return out
