-- One state transition of one post, atomically: check the version the caller read, write the
-- new document, update the indexes, append the audit entry to the workspace and post streams.
--
-- KEYS[1] post hash          KEYS[2] post audit stream     KEYS[3] workspace audit stream
-- KEYS[4] source key (or the post hash again when the draft has no source)
-- KEYS[5] the set of chat messages showing the post   KEYS[6] the workspace's freeze hash
-- KEYS[6 + i] the index sorted set of op i (i = 1..n)
-- ARGV[1] expected version ("0": the post must not exist yet)   ARGV[2] new version
-- ARGV[3] post document (JSON)   ARGV[4] post id   ARGV[5] ttl seconds (0: none, the post is live)
-- ARGV[6] "1" when KEYS[4] is a source key
-- ARGV[7] targets this transition starts publishing to, JSON (""; none): refused while a freeze
--         covers any of them, so nothing starts after a freeze was written
-- ARGV[8] n, the number of index ops; then two arguments per op, on the post id in KEYS[6 + i]:
--         "zadd", score | "zrem", "" | "trim", max score (drop members scored up to it)
-- ARGV[9 + 2n ..] the audit entry: field, value, field, value, ...
-- Returns {"ok", audit_id} | {"conflict"} | {"duplicate", existing_post_id} | {"frozen"}
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '0' then
  if current then return {'conflict'} end
  if ARGV[6] == '1' then
    local existing = redis.call('GET', KEYS[4])
    if existing then return {'duplicate', existing} end
    redis.call('SET', KEYS[4], ARGV[4])
  end
elseif current ~= ARGV[1] then
  return {'conflict'}
end
if ARGV[7] ~= '' then
  local scope = redis.call('HGET', KEYS[6], 'targets')
  if scope then
    local frozen = cjson.decode(scope)
    if #frozen == 0 then return {'frozen'} end
    for _, target in ipairs(cjson.decode(ARGV[7])) do
      for _, f in ipairs(frozen) do
        if f == target then return {'frozen'} end
      end
    end
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3])
local n = tonumber(ARGV[8])
for i = 1, n do
  local key, op, value = KEYS[6 + i], ARGV[7 + 2 * i], ARGV[8 + 2 * i]
  if op == 'zadd' then
    redis.call('ZADD', key, value, ARGV[4])
  elseif op == 'zrem' then
    redis.call('ZREM', key, ARGV[4])
  elseif op == 'trim' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', value)
  end
end
local audit = 9 + 2 * n
local id = redis.call('XADD', KEYS[3], '*', unpack(ARGV, audit))
redis.call('XADD', KEYS[2], id, unpack(ARGV, audit))
-- Finished is final, so a key that got a TTL never needs it removed again.
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[5], ttl)
  if ARGV[6] == '1' then redis.call('EXPIRE', KEYS[4], ttl) end
end
return {'ok', id}
