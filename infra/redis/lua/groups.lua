-- Shared by read.lua and breakdown.lua: infra.redis.scripts puts it before each of them.
-- The caller's groups are ARGV pairs from ARGV[first] on: a group's bucket names joined by
-- commas, then the caller's version of the group ('-' for none). A group's version is the
-- sum of its buckets' versions in the generation's versions hash; every apply that changes a
-- bucket bumps the bucket's, so an equal sum means that no bucket of the group changed and
-- the caller's sums for it are exact (versions only grow within a generation).
-- changed_groups returns the groups to sum again: {index (1-based), version, bucket names}.
local function changed_groups(first, gen, scope, same_gen)
  local changed = {}
  local group = 0
  for g = first, #ARGV, 2 do
    group = group + 1
    local buckets, fields = {}, {}
    for bucket in string.gmatch(ARGV[g], '[^,]+') do
      buckets[#buckets + 1] = bucket
      fields[#fields + 1] = scope .. ':' .. bucket
    end
    local version = 0
    for _, v in ipairs(redis.call('HMGET', gen .. LAYOUT.versions, unpack(fields))) do
      if v then version = version + tonumber(v) end
    end
    version = tostring(version)
    if not same_gen or ARGV[g + 1] ~= version then
      changed[#changed + 1] = {group, version, buckets}
    end
  end
  return changed
end
