//! The Redis store as a crypto-shredding [`KeyVault`]. Keys of a tenant
//! carry the tenant's hash tag (same slot as its log):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{<prefix>:<tenant>}:key:t` | STRING | the tenant's record (wrapped keys) |
//! | `{<prefix>:<tenant>}:key:s:<subject ref>` | STRING | a subject's record |
//! | `{<prefix>:<tenant>}:key-subjects` | SET | subject refs with a record |
//! | `{<prefix>:<tenant>}:shred:t`, `…:shred:s:<subject ref>` | STRING | shred marker: `""` until the tombstone's seq is recorded, then the seq |
//!
//! Each operation is one Lua script. Destroying deletes the record keys
//! (`DEL`); Redis's RDB and AOF files, replicas and freed server memory may
//! still hold the bytes until the next `BGSAVE`/`BGREWRITEAOF` and memory
//! reuse — SECURITY.md says what the operator must do.

use std::sync::LazyLock;

use redis::Script;

use super::RedisStore;
use crate::id::{Seq, TenantId};
use crate::shred::{KeySlot, KeyVault, RewrapFn, ShredError, SlotState, SubjectRef};
use crate::store::StoreError;

/// KEYS: 1 record, 2 marker, 3 subjects set. ARGV: 1 record, 2 subject ref
/// (`""` for the tenant). Replies `{"shredded", marker}` or `{"live", record}`.
const CREATE_LUA: &str = r#"
local m = redis.call('GET', KEYS[2])
if m then return {'shredded', m} end
if redis.call('SET', KEYS[1], ARGV[1], 'NX') and ARGV[2] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[2])
end
return {'live', redis.call('GET', KEYS[1])}
"#;

/// KEYS: 1 record, 2 marker, 3 subjects set. ARGV: 1 subject ref (`""` for
/// the tenant: then every subject record is deleted too), 2 the key name
/// prefix of subject records (same hash tag). Keeps an existing marker.
const DESTROY_LUA: &str = r#"
if ARGV[1] == '' then
  for _, s in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    redis.call('DEL', ARGV[2] .. s)
  end
  redis.call('DEL', KEYS[3])
else
  redis.call('SREM', KEYS[3], ARGV[1])
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '', 'NX')
return 'ok'
"#;

/// KEYS: record keys of one tenant. ARGV: for each, its expected current
/// record, then its replacement. Replaces all of them, or none when any
/// changed since it was read (a concurrent create or destroy).
const REWRAP_LUA: &str = r#"
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[2 * i - 1] then return 'changed' end
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i])
end
return 'ok'
"#;

/// One record to replace: its key, its current bytes, its replacement.
type Rewrite = (String, Vec<u8>, Vec<u8>);

static REWRAP: LazyLock<Script> = LazyLock::new(|| Script::new(REWRAP_LUA));
static CREATE: LazyLock<Script> = LazyLock::new(|| Script::new(CREATE_LUA));
static DESTROY: LazyLock<Script> = LazyLock::new(|| Script::new(DESTROY_LUA));

struct SlotKeys {
    record: String,
    marker: String,
    subjects: String,
    subject_prefix: String,
    subject: String,
}

fn backend(e: StoreError) -> ShredError {
    ShredError::Backend(Box::new(e))
}

fn marker_state(m: &str) -> Result<SlotState, ShredError> {
    if m.is_empty() {
        return Ok(SlotState::Shredded(None));
    }
    m.parse::<u64>()
        .map(|s| SlotState::Shredded(Some(Seq(s))))
        .map_err(|_| ShredError::Backend("redis: invalid shred marker".into()))
}

impl RedisStore {
    fn slot_keys(&self, slot: &KeySlot) -> SlotKeys {
        let tag = format!("{{{}:{}}}", self.key_prefix(), slot.tenant().as_str());
        let subject_prefix = format!("{tag}:key:s:");
        let (record, marker, subject) = match slot {
            KeySlot::Tenant(_) => (
                format!("{tag}:key:t"),
                format!("{tag}:shred:t"),
                String::new(),
            ),
            KeySlot::Subject(_, s) => (
                format!("{subject_prefix}{s}"),
                format!("{tag}:shred:s:{s}"),
                s.to_hex(),
            ),
        };
        SlotKeys {
            record,
            marker,
            subjects: format!("{tag}:key-subjects"),
            subject_prefix,
            subject,
        }
    }
}

impl KeyVault for RedisStore {
    fn load(&self, slot: &KeySlot) -> Result<SlotState, ShredError> {
        let k = self.slot_keys(slot);
        let (record, marker): (Option<Vec<u8>>, Option<String>) = self
            .run("read key slot", |c, _| {
                Ok(redis::cmd("MGET").arg(&k.record).arg(&k.marker).query(c)?)
            })
            .map_err(backend)?;
        match (marker, record) {
            (Some(m), _) => marker_state(&m),
            (None, Some(r)) => Ok(SlotState::Live(r)),
            (None, None) => Ok(SlotState::Absent),
        }
    }

    fn create(&self, slot: &KeySlot, record: &[u8]) -> Result<SlotState, ShredError> {
        let k = self.slot_keys(slot);
        let (what, value): (String, Vec<u8>) = self
            .run("create key slot", |c, _| {
                Ok(CREATE
                    .key(&k.record)
                    .key(&k.marker)
                    .key(&k.subjects)
                    .arg(record)
                    .arg(&k.subject)
                    .invoke(c)?)
            })
            .map_err(backend)?;
        match what.as_str() {
            "live" => Ok(SlotState::Live(value)),
            _ => marker_state(std::str::from_utf8(&value).unwrap_or("?")),
        }
    }

    fn destroy(&self, slot: &KeySlot) -> Result<(), ShredError> {
        let k = self.slot_keys(slot);
        self.run("destroy key slot", |c, _| {
            let _: String = DESTROY
                .key(&k.record)
                .key(&k.marker)
                .key(&k.subjects)
                .arg(&k.subject)
                .arg(&k.subject_prefix)
                .invoke(c)?;
            Ok(())
        })
        .map_err(backend)
    }

    fn record_tombstone(&self, slot: &KeySlot, seq: Seq) -> Result<(), ShredError> {
        let k = self.slot_keys(slot);
        self.run("record tombstone", |c, _| {
            let _: Option<String> = redis::cmd("SET")
                .arg(&k.marker)
                .arg(seq.0)
                .arg("XX")
                .query(c)?;
            Ok(())
        })
        .map_err(backend)
    }

    /// Reads every live record (tenants found with `SCAN`, their subjects
    /// from the tenant's subject set), computes every replacement, and
    /// only then writes: one script per tenant (its keys share one hash
    /// slot), replacing all of the tenant's records or none. A failing
    /// `rewrap` therefore changes nothing; a backend failure between two
    /// tenants leaves the earlier ones re-wrapped — run the rotation again
    /// (keys already under the new KEK are kept).
    fn rewrap_all(&self, rewrap: &mut RewrapFn<'_>) -> Result<usize, ShredError> {
        let open = format!("{{{}:", self.key_prefix());
        let pattern = format!("{open}*}}:key:t");
        let keys = self
            .scan_keys("scan key slots", &pattern)
            .map_err(backend)?;
        let mut tenants = Vec::with_capacity(keys.len());
        for k in &keys {
            let t = k
                .strip_prefix(&open)
                .and_then(|k| k.strip_suffix("}:key:t"))
                .and_then(|t| TenantId::new(t).ok())
                .ok_or_else(|| ShredError::Backend("redis: invalid key slot name".into()))?;
            tenants.push(t);
        }
        // Every replacement first, per tenant: (record key, old, new).
        let mut plan: Vec<Vec<Rewrite>> = Vec::new();
        for t in tenants {
            let tk = self.slot_keys(&KeySlot::Tenant(t.clone()));
            let subjects: Vec<String> = self
                .run("read key subjects", |c, _| {
                    Ok(redis::cmd("SMEMBERS").arg(&tk.subjects).query(c)?)
                })
                .map_err(backend)?;
            let mut slots = vec![KeySlot::Tenant(t.clone())];
            for s in &subjects {
                let s = SubjectRef::from_hex(s)
                    .map_err(|_| ShredError::Backend("redis: invalid subject ref".into()))?;
                slots.push(KeySlot::Subject(t.clone(), s));
            }
            let mut writes = Vec::new();
            for slot in slots {
                if let SlotState::Live(old) = self.load(&slot)? {
                    let new = rewrap(&slot, &old)?;
                    writes.push((self.slot_keys(&slot).record, old, new));
                }
            }
            plan.push(writes);
        }
        let mut n = 0;
        for writes in plan.iter().filter(|w| !w.is_empty()) {
            let reply: String = self
                .run("re-wrap key slots", |c, _| {
                    let mut inv = REWRAP.prepare_invoke();
                    for (key, old, new) in writes {
                        inv.key(key).arg(&old[..]).arg(&new[..]);
                    }
                    Ok(inv.invoke(c)?)
                })
                .map_err(backend)?;
            if reply != "ok" {
                return Err(ShredError::Backend(
                    "a key slot changed during the re-wrap: run it again".into(),
                ));
            }
            n += writes.len();
        }
        Ok(n)
    }
}
