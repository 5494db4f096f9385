-- Compare-and-set of a tenant's counter meta.
-- KEYS[1] meta. ARGV: expected state ('' = any, '-' = missing), expected gen ('' = any),
-- new state, new gen, the layout version the generation is written with.
-- Returns 1 when set, 0 when meta did not match.
local meta = redis.call('HMGET', KEYS[1], LAYOUT.state, LAYOUT.gen)
local state = meta[1] or '-'
if ARGV[1] ~= '' and state ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and meta[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], LAYOUT.state, ARGV[3], LAYOUT.gen, ARGV[4], LAYOUT.layout, ARGV[5])
return 1
