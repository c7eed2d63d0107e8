-- One state transition of one post, atomically: check the version the caller read, write the
-- new document, update the indexes, append the audit entry to the workspace and post streams.
--
-- KEYS[1] post hash          KEYS[2] post audit stream     KEYS[3] workspace audit stream
-- KEYS[4] source key (or the post hash again when the draft has no source)
-- KEYS[5] the set of chat messages showing the post   KEYS[6] the workspace's freeze hash
-- KEYS[7..] index sorted sets, referred to by position from the ops
-- ARGV[1] expected version ("0": the post must not exist yet)   ARGV[2] new version
-- ARGV[3] post document (JSON)   ARGV[4] post id   ARGV[5] ttl seconds (0: none, the post is live)
-- ARGV[6] ops, JSON: [["zadd", key_index, score, member] | ["zrem", key_index, member]
--                     | ["trim", key_index, max_score]]
-- ARGV[7] audit fields, JSON: [field, value, ...]   ARGV[8] "1" when KEYS[4] is a source key
-- ARGV[9] targets this transition starts publishing to, JSON (""; none): refused while a freeze
--         covers any of them, so nothing starts after a freeze was written
-- Returns {"ok", audit_id} | {"conflict"} | {"duplicate", existing_post_id} | {"frozen"}
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '0' then
  if current then return {'conflict'} end
  if ARGV[8] == '1' then
    local existing = redis.call('GET', KEYS[4])
    if existing then return {'duplicate', existing} end
    redis.call('SET', KEYS[4], ARGV[4])
  end
elseif current ~= ARGV[1] then
  return {'conflict'}
end
if ARGV[9] ~= '' then
  local scope = redis.call('HGET', KEYS[6], 'targets')
  if scope then
    local frozen = cjson.decode(scope)
    if #frozen == 0 then return {'frozen'} end
    for _, target in ipairs(cjson.decode(ARGV[9])) do
      for _, f in ipairs(frozen) do
        if f == target then return {'frozen'} end
      end
    end
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3])
for _, op in ipairs(cjson.decode(ARGV[6])) do
  local key = KEYS[op[2]]
  if op[1] == 'zadd' then
    redis.call('ZADD', key, op[3], op[4])
  elseif op[1] == 'zrem' then
    redis.call('ZREM', key, op[3])
  elseif op[1] == 'trim' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', op[3])
  end
end
local fields = cjson.decode(ARGV[7])
local id = redis.call('XADD', KEYS[3], '*', unpack(fields))
redis.call('XADD', KEYS[2], id, unpack(fields))
-- Finished is final, so a key that got a TTL never needs it removed again.
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[5], ttl)
  if ARGV[8] == '1' then redis.call('EXPIRE', KEYS[4], ttl) end
end
return {'ok', id}
