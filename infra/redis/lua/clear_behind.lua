-- Clear the `behind` mark if it is still the value the drainer read before it drained.
-- KEYS[1] meta. ARGV[1] that value. Returns 1 when cleared (or not set), 0 when marked since.
local behind = redis.call('HGET', KEYS[1], LAYOUT.behind)
if not behind then
  return 1
end
if behind ~= ARGV[1] then
  return 0
end
redis.call('HDEL', KEYS[1], LAYOUT.behind)
return 1
