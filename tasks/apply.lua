-- apply: a conditional write of several keys of one workspace, atomically.
--
-- KEYS: every key the write touches (one hash slot).
-- ARGV[1]: the number of operations N; then N operations of 4 arguments:
--   op, key index (into KEYS), a, b.
-- Checks run first, all of them; writes run only when every check passed:
--   eq     k a    GET KEYS[k] equals a ("" means the key must not exist)
--   hfree  k a b  HGET KEYS[k] a is absent or equals b (a unique index is free)
--   heq    k a b  HGET KEYS[k] a equals b ("" means the field must not exist)
--   zscore k a b  ZSCORE KEYS[k] a is the number b (a schedule entry is still armed)
--   idem   k      if KEYS[k] exists, stop and return its value (replay)
--   set    k a b  SET KEYS[k] a, with EX b when b is not ""
--   del    k
--   zadd   k a b  ZADD KEYS[k] a b
--   zrem   k a
--   hset   k a b
--   hdel   k a
--   bzadd  k a b  ZADD KEYS[k] a b into a bucket of a list index
--   bzrem  k a    ZREM KEYS[k] a from a bucket of a list index
--   bzdir  k a    after a bzadd or bzrem that changed its bucket: set bit a
--                 of the directory KEYS[k] to whether the bucket has members
--   xadd   k a b  XADD KEYS[k] MINID ~ b * c a (an event's stored form)
--   publish k a b PUBLISH a b (k is unused; channels are not keys)
-- Returns {"ok"}, {"fail", index of the failed check}, or {"idem", value}.
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local base = 2 + i * 4
  local op, k, a, b = ARGV[base], KEYS[tonumber(ARGV[base + 1])], ARGV[base + 2], ARGV[base + 3]
  if op == "eq" then
    local cur = redis.call("GET", k)
    if a == "" then
      if cur then return {"fail", tostring(i)} end
    elseif cur ~= a then
      return {"fail", tostring(i)}
    end
  elseif op == "hfree" then
    local cur = redis.call("HGET", k, a)
    if cur and cur ~= b then return {"fail", tostring(i)} end
  elseif op == "heq" then
    local cur = redis.call("HGET", k, a)
    if b == "" then
      if cur then return {"fail", tostring(i)} end
    elseif cur ~= b then
      return {"fail", tostring(i)}
    end
  elseif op == "zscore" then
    local cur = redis.call("ZSCORE", k, a)
    if not cur or tonumber(cur) ~= tonumber(b) then return {"fail", tostring(i)} end
  elseif op == "idem" then
    local cur = redis.call("GET", k)
    if cur then return {"idem", cur} end
  end
end
local bucket, delta = nil, 0
for i = 0, n - 1 do
  local base = 2 + i * 4
  local op, k, a, b = ARGV[base], KEYS[tonumber(ARGV[base + 1])], ARGV[base + 2], ARGV[base + 3]
  if op == "set" then
    if b ~= "" then redis.call("SET", k, a, "EX", b) else redis.call("SET", k, a) end
  elseif op == "del" then
    redis.call("DEL", k)
  elseif op == "zadd" then
    redis.call("ZADD", k, a, b)
  elseif op == "zrem" then
    redis.call("ZREM", k, a)
  elseif op == "bzadd" then
    bucket, delta = k, redis.call("ZADD", k, a, b)
  elseif op == "bzrem" then
    bucket, delta = k, -redis.call("ZREM", k, a)
  elseif op == "bzdir" then
    if delta ~= 0 then
      local card = redis.call("ZCARD", bucket)
      if card == 0 then
        redis.call("SETBIT", k, a, 0)
      elseif card == 1 then
        redis.call("SETBIT", k, a, 1)
      end
      delta = 0
    end
  elseif op == "hset" then
    redis.call("HSET", k, a, b)
  elseif op == "hdel" then
    redis.call("HDEL", k, a)
  elseif op == "publish" then
    redis.call("PUBLISH", a, b)
  elseif op == "xadd" then
    redis.call("XADD", k, "MINID", "~", b, "*", "c", a)
  end
end
return {"ok"}
