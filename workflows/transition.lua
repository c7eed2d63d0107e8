-- State transitions of posts, each one atomic: check the version the caller read, write the
-- new document, update the indexes, append the audit entry to the workspace and post streams.
-- One call takes a batch (a worker records fifty attempts in one round trip); each transition
-- is still checked and applied on its own, and answered in the order given.
--
-- KEYS: the keys of each transition in turn. ARGV: for each transition in turn, its number of
-- keys, its number of arguments, then its arguments. Below, K and A are one transition's keys
-- and arguments.
--
-- K[1] post hash (`v` version, `doc` document, `at` the audit id of its last transition)
-- K[2] post audit stream   K[3] workspace audit stream
-- K[4] source key (or the post hash again when the draft has no source)
-- K[5] the set of chat messages showing the post   K[6] the workspace's freeze hash
-- K[7] the workspace's last change: the id of the last transition's audit entry (unique and
--      time-based, so never the same twice, even after Redis came back empty); readers that
--      keep what they read, like the queue answers, compare it instead of reading again
-- K[7 + i] the index sorted set of op i (i = 1..n)
-- A[1] expected version ("0": the post must not exist yet)   A[2] new version
-- A[3] post document (JSON)   A[4] post id   A[5] ttl seconds (0: none, the post is live)
-- A[6] "1" when K[4] is a source key
-- A[7] targets this transition starts publishing to, JSON (""; none): refused while a freeze
--      covers any of them, so nothing starts after a freeze was written
-- A[8] n, the number of index ops; then two arguments per op, on the post id in K[7 + i]:
--      "zadd", score | "zrem", "" | "trim", max score (drop members scored up to it)
-- A[9 + 2n ..] the audit entry: field, value, field, value, ...
-- Each transition answers {"ok", audit_id} | {"conflict"} | {"duplicate", existing_post_id}
-- | {"frozen"}; the call returns their list.
local function transition(K, A)
  local current = redis.call('HGET', K[1], 'v')
  if A[1] == '0' then
    if current then return {'conflict'} end
    if A[6] == '1' then
      local existing = redis.call('GET', K[4])
      if existing then return {'duplicate', existing} end
      redis.call('SET', K[4], A[4])
    end
  elseif current ~= A[1] then
    return {'conflict'}
  end
  if A[7] ~= '' then
    local scope = redis.call('HGET', K[6], 'targets')
    if scope then
      local frozen = cjson.decode(scope)
      if #frozen == 0 then return {'frozen'} end
      for _, target in ipairs(cjson.decode(A[7])) do
        for _, f in ipairs(frozen) do
          if f == target then return {'frozen'} end
        end
      end
    end
  end
  -- The last change is written first: should a later command fail, readers still see a change.
  local n = tonumber(A[8])
  local audit = 9 + 2 * n
  local id = redis.call('XADD', K[3], '*', unpack(A, audit))
  redis.call('SET', K[7], id)
  redis.call('HSET', K[1], 'v', A[2], 'doc', A[3], 'at', id)
  for i = 1, n do
    local key, op, value = K[7 + i], A[7 + 2 * i], A[8 + 2 * i]
    if op == 'zadd' then
      redis.call('ZADD', key, value, A[4])
    elseif op == 'zrem' then
      redis.call('ZREM', key, A[4])
    elseif op == 'trim' then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', value)
    end
  end
  redis.call('XADD', K[2], id, unpack(A, audit))
  -- Finished is final, so a key that got a TTL never needs it removed again.
  local ttl = tonumber(A[5])
  if ttl > 0 then
    redis.call('EXPIRE', K[1], ttl)
    redis.call('EXPIRE', K[2], ttl)
    redis.call('EXPIRE', K[5], ttl)
    if A[6] == '1' then redis.call('EXPIRE', K[4], ttl) end
  end
  return {'ok', id}
end

local replies = {}
local k, a = 0, 1
while a <= #ARGV do
  local nkeys, nargs = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local K = {unpack(KEYS, k + 1, k + nkeys)}
  local A = {unpack(ARGV, a + 2, a + 1 + nargs)}
  replies[#replies + 1] = transition(K, A)
  k, a = k + nkeys, a + 2 + nargs
end
return replies
