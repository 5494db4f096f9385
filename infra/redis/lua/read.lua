-- Sum counter hashes per group of buckets, in the generation meta names (one round trip),
-- only for the groups that changed since the caller read them.
-- KEYS[1] meta. ARGV: tenant prefix, the caller's layout version, scope (survey id or
-- 'all'), seg, the generation the caller's versions belong to ('' for none), then per
-- group: its bucket names joined by commas, and the caller's version of the group ('-' for
-- none; see groups.lua).
-- Returns {-1} when meta is missing, {-2, layout, gen} when the generation was written
-- with another layout version, {0} when not ready (or behind, see mark_behind.lua), else
-- {1, gen, then per changed group: its index (1-based), its version, 11 sums}.
-- The keys are built here from meta's gen; they share KEYS[1]'s {tenant} hash tag.
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
local seg = ':' .. ARGV[4]
local out = {1, meta[2]}
for _, group in ipairs(changed_groups(6, gen, scope, ARGV[5] == meta[2])) do
  local sums = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
  for _, bucket in ipairs(group[3]) do
    local bins = redis.call('HMGET', base .. bucket .. seg,
      '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10')
    for s = 1, 11 do
      if bins[s] then sums[s] = sums[s] + tonumber(bins[s]) end
    end
  end
  out[#out + 1] = group[1]
  out[#out + 1] = group[2]
  for s = 1, 11 do out[#out + 1] = sums[s] end
end
return out
