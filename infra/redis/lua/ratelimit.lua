-- GCRA (continuous-state leaky bucket) over one or more limits at once, all or nothing:
-- domain/ratelimit.py gcra, which a test runs against this script; keep the arithmetic
-- step for step the same.
-- KEYS[i]: the bucket of limit i, "<units spent and not yet given back> <at time ms>".
-- ARGV: now_ms ("" = the server's clock), cost, consume ("1" or "0"),
--       then quota_i and window_ms_i for each key.
-- Returns {allowed, retry_ms, then remaining_i, reset_ms_i, violated_i for each key};
-- retry_ms and reset_ms are -1 when the cost exceeds a quota (it can never pass).
local EPSILON = 0.01 -- milliseconds of floating-point noise
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local cost = tonumber(ARGV[2])
local consume = ARGV[3] == '1'

local function ms(value)
  return math.ceil(value - EPSILON)
end

local rows = {}
local allowed = true
local never = false
local worst = 0
for i = 1, #KEYS do
  local quota = tonumber(ARGV[2 + 2 * i])
  local interval = tonumber(ARGV[3 + 2 * i]) / quota
  local level = 0
  local stored = redis.call('GET', KEYS[i])
  if stored then
    local spent, at = string.match(stored, '^(%S+) (%S+)$')
    level = math.max(0, tonumber(spent) - math.max(0, now - tonumber(at)) / interval)
  end
  local after = level + cost
  local retry = 0
  if cost > quota then
    retry = -1
    never = true
  elseif (after - quota) * interval > EPSILON then
    retry = (after - quota) * interval
    if retry > worst then
      worst = retry
    end
  end
  if retry ~= 0 then
    allowed = false
  end
  rows[i] = {quota, interval, level, after, retry}
end

local out = {0, 0}
if allowed then
  out[1] = 1
elseif never then
  out[2] = -1
else
  out[2] = ms(worst)
end
for i = 1, #KEYS do
  local quota, interval, level, after, retry = unpack(rows[i])
  local left = level
  if allowed then
    left = after
  end
  local remaining = math.max(0, math.floor(quota - left + EPSILON / interval))
  local reset = -1
  if retry ~= -1 then
    if retry ~= 0 then
      reset = ms(retry)
    else
      reset = ms(left * interval)
    end
  end
  local violated = 0
  if retry ~= 0 then
    violated = 1
  end
  table.insert(out, remaining)
  table.insert(out, reset)
  table.insert(out, violated)
  if allowed and consume then
    local ttl = ms(after * interval) + 1000
    redis.call('SET', KEYS[i], string.format('%.17g %.17g', after, now), 'PX', ttl)
  end
end
return out
