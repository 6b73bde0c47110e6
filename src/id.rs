//! Identifier newtypes: tenants, logs, entries, sequence numbers, epochs.
//!
//! Every identifier that crosses a module boundary has its own type, and
//! every text identifier is validated on construction (SPEC §2.4).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Errors from building an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The identifier is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// The identifier is longer than allowed.
    #[error("{what} is longer than {max} bytes")]
    TooLong {
        /// Which identifier.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// The identifier contains a character outside its alphabet.
    #[error("{0} contains a character outside its alphabet (see SPEC §2.4)")]
    BadChar(&'static str),
}

fn check_ident(what: &'static str, s: &str, max: usize, extra: &[u8]) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty(what));
    }
    if s.len() > max {
        return Err(IdError::TooLong { what, max });
    }
    let b = s.as_bytes();
    let ok_first = b
        .first()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest = b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c));
    if !ok_first || !ok_rest {
        return Err(IdError::BadChar(what));
    }
    Ok(())
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $extra:expr) => {
        text_id!($(#[$doc])* $name, $what, $max, $extra, String);
    };
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $extra:expr, $repr:ty) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($repr);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl $name {
            /// Validates and wraps `s`.
            ///
            /// # Errors
            /// [`IdError`] when `s` is empty, too long or has a character outside the alphabet.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s: String = s.into();
                Self::validate(&s)?;
                Ok(Self(s.into()))
            }
            /// Checks `s` as [`Self::new`] does, without allocating.
            pub(crate) fn validate(s: &str) -> Result<(), IdError> {
                check_ident($what, s, $max, $extra)
            }
            /// The text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": $max,
                    "description": concat!($what, ": see SPEC §2.4 for the alphabet")
                })
            }
        }
    };
}

text_id!(
    /// A tenant: 1–64 bytes of `[a-z0-9._-]`, starting with a letter or digit.
    /// Tenant ids appear in checkpoint origins and Redis hash tags, so braces,
    /// slashes, spaces and upper case are refused. Shared text: a clone
    /// (every entry header holds one) does not allocate.
    TenantId, "tenant id", 64, b"._-", std::sync::Arc<str>
);

text_id!(
    /// The name of a deployment's log (the first part of every checkpoint
    /// origin), e.g. `audit.example.com`: 1–128 bytes of `[a-z0-9._-]` and `/`,
    /// starting with a letter or digit. Shared text: a clone does not allocate.
    LogName, "log name", 128, b"._-/", std::sync::Arc<str>
);

/// An entry's unique id: 16 random bytes, written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub [u8; 16]);

impl EntryId {
    /// Lowercase hex text.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parses 32 lowercase hex digits.
    ///
    /// # Errors
    /// [`IdError::BadChar`] otherwise.
    pub fn from_hex(s: &str) -> Result<Self, IdError> {
        crate::hash::decode_lower_hex(s.as_bytes())
            .map(EntryId)
            .ok_or(IdError::BadChar("entry id"))
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryId({})", self.to_hex())
    }
}
impl Serialize for EntryId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for EntryId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::hash::deserialize_text(d, EntryId::from_hex)
    }
}
impl schemars::JsonSchema for EntryId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EntryId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[0-9a-f]{32}$"})
    }
}

text_id!(
    /// A short machine code: reason codes, framework tags, check and policy
    /// names, e.g. `eu_ai_act:art12`. 1–64 bytes of `[a-z0-9._:-]`, starting
    /// with a letter or digit.
    Code, "code", 64, b"._:-"
);

/// An identifier supplied by the application (trace id, session id,
/// reviewer, model id, call id): 1–128 bytes of printable ASCII without
/// spaces (0x21–0x7e). Applications must not put personal data here.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    /// Validates and wraps `s`.
    ///
    /// # Errors
    /// [`IdError`] when empty, longer than 128 bytes, or not printable ASCII.
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        Self::validate(&s)?;
        Ok(Self(s))
    }
    /// Checks `s` as [`ExternalId::new`] does, without allocating.
    pub(crate) fn validate(s: &str) -> Result<(), IdError> {
        if s.is_empty() {
            return Err(IdError::Empty("external id"));
        }
        if s.len() > 128 {
            return Err(IdError::TooLong {
                what: "external id",
                max: 128,
            });
        }
        if !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(IdError::BadChar("external id"));
        }
        Ok(())
    }
    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExternalId({:?})", self.0)
    }
}
impl<'de> Deserialize<'de> for ExternalId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}
impl schemars::JsonSchema for ExternalId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ExternalId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[!-~]{1,128}$"})
    }
}

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl $name {
            /// The next value, or `None` on overflow.
            pub fn checked_next(self) -> Option<Self> {
                self.0.checked_add(1).map(Self)
            }
        }
    };
}

int_id!(
    /// Position of an entry in its tenant's chain: 0-based and contiguous
    /// across epochs. At most 2^53 (SPEC §2.2).
    Seq
);
int_id!(
    /// An epoch number of a tenant's log: 0-based, strictly increasing.
    Epoch
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_validated() {
        assert!(TenantId::new("acme-bank.eu_1").is_ok());
        assert_eq!(TenantId::new(""), Err(IdError::Empty("tenant id")));
        for bad in ["Acme", "a b", "{x}", "a/b", "-x", "ä"] {
            assert_eq!(
                TenantId::new(bad),
                Err(IdError::BadChar("tenant id")),
                "{bad}"
            );
        }
        assert!(matches!(
            TenantId::new("a".repeat(65)),
            Err(IdError::TooLong { .. })
        ));
        assert!(serde_json::from_str::<TenantId>("\"A\"").is_err());
        assert!(LogName::new("audit.example.com/prod").is_ok());
    }

    #[test]
    fn entry_ids_round_trip_and_refuse_upper_case() {
        let id = EntryId([0xab; 16]);
        assert_eq!(EntryId::from_hex(&id.to_hex()), Ok(id));
        assert!(EntryId::from_hex(&id.to_hex().to_uppercase()).is_err());
    }
}
