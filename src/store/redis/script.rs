//! The Lua scripts of the Redis store (docs/STORAGE.md, "Redis").
//!
//! Each write is one script, so Redis runs it atomically: no other command
//! runs between its checks and its writes, and its effects reach the AOF
//! and replicas as one `MULTI`/`EXEC` block. Every check comes before the
//! first write, so a refused call writes nothing.
//!
//! Numbers travel as canonical decimal strings (as Rust prints a `u64`) and
//! are compared as strings, by length then lexically: Lua's numbers are
//! doubles and would round values above 2^53.

use std::sync::LazyLock;

use redis::Script;

/// Compare-and-append of one batch.
///
/// KEYS: 1 head, 2 entries, 3 epochs, 4 epoch sizes.
///
/// ARGV: 1 expected head seq (`""` for a tenant without entries), 2 expected
/// head hash (hex), 3 `"1"` when retrying after an unknown outcome, 4 epoch of
/// the first entry, 5–7 the new head's seq, hash and epoch, 8 the number R of
/// epoch runs, then R triples (epoch, first seq, count), then one
/// (seq, line) pair per entry.
///
/// Replies `{"ok"}`, `{"applied"}` (retry found the batch already stored),
/// `{"conflict", stored head seq or ""}`, `{"epoch", stored head epoch}` or
/// `{"inconsistent", detail}`.
pub(super) const APPEND_LUA: &str = r#"
local function lt(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local runs = tonumber(ARGV[8])
local first_pair = 9 + 3 * runs
local head = redis.call('HMGET', KEYS[1], 'seq', 'hash', 'epoch')
if (head[1] or head[2] or head[3]) and not (head[1] and head[2] and head[3]) then
  return {'inconsistent', 'head is missing a field'}
end
local matches
if ARGV[1] == '' then
  matches = not head[1]
else
  matches = head[1] == ARGV[1] and head[2] == ARGV[2]
end
if not matches then
  if ARGV[3] == '1' and redis.call('HGET', KEYS[2], ARGV[#ARGV - 1]) == ARGV[#ARGV] then
    return {'applied'}
  end
  return {'conflict', head[1] or ''}
end
if head[1] and lt(ARGV[4], head[3]) then
  return {'epoch', head[3]}
end
if redis.call('HEXISTS', KEYS[2], ARGV[first_pair]) == 1 then
  return {'inconsistent', 'entries are stored past the head'}
end
local step = 1000
for i = first_pair, #ARGV, step do
  redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + step - 1, #ARGV)))
end
for r = 0, runs - 1 do
  local at = 9 + 3 * r
  redis.call('HSETNX', KEYS[3], ARGV[at], ARGV[at + 1])
  redis.call('HINCRBY', KEYS[4], ARGV[at], ARGV[at + 2])
end
redis.call('HSET', KEYS[1], 'seq', ARGV[5], 'hash', ARGV[6], 'epoch', ARGV[7])
return {'ok'}
"#;

/// Stores one checkpoint unless it would cover entries that are not stored.
///
/// KEYS: 1 epoch sizes, 2 the epoch's checkpoints.
///
/// ARGV: 1 epoch, 2 size, 3 note.
///
/// Replies `{"stored"}`, `{"same"}` (identical note already stored),
/// `{"different"}` (another note for this size) or `{"short", stored count}`.
pub(super) const CHECKPOINT_LUA: &str = r#"
local function lt(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local stored = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if lt(stored, ARGV[2]) then
  return {'short', stored}
end
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then
  if existing == ARGV[3] then return {'same'} end
  return {'different'}
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return {'stored'}
"#;

/// Deletes the oldest stored epoch after it was archived.
///
/// KEYS: 1 head, 2 entries, 3 epoch starts, 4 epoch sizes, 5 the epoch's checkpoints.
///
/// ARGV: 1 epoch.
///
/// Replies `{"ok", deleted count}`, `{"not_oldest"}`, `{"current"}` or
/// `{"inconsistent", detail}`. Sets the head's `base` field to the first
/// seq still stored.
pub(super) const DELETE_EPOCH_LUA: &str = r#"
local epoch = tonumber(ARGV[1])
local head_epoch = redis.call('HGET', KEYS[1], 'epoch')
if not head_epoch or tonumber(head_epoch) <= epoch then
  return {'current'}
end
local oldest = nil
for _, e in ipairs(redis.call('HKEYS', KEYS[3])) do
  local n = tonumber(e)
  if not oldest or n < oldest then oldest = n end
end
if oldest ~= epoch then
  return {'not_oldest'}
end
local start = tonumber(redis.call('HGET', KEYS[3], ARGV[1]))
local size = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
if not start or size < 1 then
  return {'inconsistent', 'epoch start or size missing'}
end
local step = 1000
for i = start, start + size - 1, step do
  local last = math.min(i + step - 1, start + size - 1)
  local fields = {}
  for s = i, last do fields[#fields + 1] = tostring(s) end
  redis.call('HDEL', KEYS[2], unpack(fields))
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[5])
redis.call('HSET', KEYS[1], 'base', tostring(start + size))
return {'ok', tostring(size)}
"#;

/// [`DELETE_EPOCH_LUA`], with its SHA-1 for `EVALSHA`.
pub(super) static DELETE_EPOCH: LazyLock<Script> = LazyLock::new(|| Script::new(DELETE_EPOCH_LUA));

/// [`APPEND_LUA`], with its SHA-1 for `EVALSHA`.
pub(super) static APPEND: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND_LUA));

/// [`CHECKPOINT_LUA`], with its SHA-1 for `EVALSHA`.
pub(super) static CHECKPOINT: LazyLock<Script> = LazyLock::new(|| Script::new(CHECKPOINT_LUA));
