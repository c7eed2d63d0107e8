-- Claim up to ARGV[3] posts due by ARGV[1] for one worker: each leaves the due set, gets a
-- lease (until ARGV[2] + ARGV[4] ms) and a new fencing token, atomically, so two workers never
-- hold the same post and a late worker can tell that its claim was taken over.
--
-- KEYS[1] due (zset, seconds)   KEYS[2] leases (zset, expiry ms)   KEYS[3] lease tokens (hash)
-- KEYS[4] fencing counter
-- ARGV[1] now (seconds)  ARGV[2] now (ms)  ARGV[3] how many  ARGV[4] lease length (ms)
-- Returns {post_id, token, post_id, token, ...}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local token = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[4]), id)
  redis.call('HSET', KEYS[3], id, token)
  claimed[#claimed + 1] = id
  claimed[#claimed + 1] = token
end
return claimed
