-- userbycliq: the record of the user linked to a Cliq user id, in one
-- round trip instead of an HGET and a GET.
--
-- KEYS[1]: the workspace's HASH of Cliq user id → user id
-- KEYS[2]: the prefix of the workspace's user records (the key of a user
--          is it followed by the user id, so it shares KEYS[1]'s slot)
-- ARGV[1]: the Cliq user id
-- Returns the user's record, or false when no user is linked or the
-- linked id is not a user's.
local id = redis.call("HGET", KEYS[1], ARGV[1])
if not id or string.sub(id, 1, 4) ~= "usr_" then return false end
return redis.call("GET", KEYS[2] .. id)
