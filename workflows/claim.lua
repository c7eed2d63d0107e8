-- Claim up to ARGV[3] posts due by ARGV[1] for one worker: each leaves the due set, gets a
-- lease (until ARGV[2] + ARGV[4] ms) and a new fencing token, atomically, so two workers never
-- hold the same post and a late worker can tell that its claim was taken over. Each claimed
-- post comes back with its document, saving the worker a round trip to read it.
--
-- KEYS[1] due (zset, seconds)   KEYS[2] leases (zset, expiry ms)   KEYS[3] lease tokens (hash)
-- KEYS[4] fencing counter
-- ARGV[1] now (seconds)  ARGV[2] now (ms)  ARGV[3] how many  ARGV[4] lease length (ms)
-- ARGV[5] the workspace's post key prefix: a post's hash is ARGV[5] .. id (the workspace's hash
--         tag is in the prefix, so it is in the same Redis Cluster slot as KEYS)
-- Returns {post_id, token, version, document, post_id, token, ...} (version and document are
-- false for a post that expired meanwhile)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local token = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[4]), id)
  redis.call('HSET', KEYS[3], id, token)
  local post = redis.call('HMGET', ARGV[5] .. id, 'v', 'doc')
  claimed[#claimed + 1] = id
  claimed[#claimed + 1] = token
  claimed[#claimed + 1] = post[1]
  claimed[#claimed + 1] = post[2]
end
return claimed
