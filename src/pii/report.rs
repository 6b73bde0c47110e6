//! PII categories and the stripping report (what was stripped, never the values).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{PiiError, MAX_CUSTOM_NAME_LEN};

/// A validated custom pattern name: 1–32 characters of `[a-z0-9_]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomName(String);

impl CustomName {
    /// Checks and wraps `name`.
    ///
    /// # Errors
    /// [`PiiError::InvalidCustomName`] unless `name` is 1–32 characters of `[a-z0-9_]`.
    pub fn new(name: &str) -> Result<CustomName, PiiError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_CUSTOM_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(CustomName(name.to_owned()))
        } else {
            Err(PiiError::InvalidCustomName {
                name: name.chars().take(MAX_CUSTOM_NAME_LEN + 8).collect(),
                reason: "must be 1 to 32 characters of [a-z0-9_]",
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PII category. Its text form ([`PiiCategory::name`]) is stable and is
/// what reports, receipts and the SPEC use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PiiCategory {
    /// `email`, token `[EMAIL]`.
    Email,
    /// `phone`, token `[PHONE]`.
    Phone,
    /// `ipv4`, token `[IPV4]`.
    Ipv4,
    /// `ipv6`, token `[IPV6]`.
    Ipv6,
    /// `iban`, token `[IBAN]` (mod-97 validated).
    Iban,
    /// `payment_card`, token `[CARD]` (Luhn validated).
    PaymentCard,
    /// `us_ssn`, token `[SSN]`.
    UsSsn,
    /// `secret` (API keys, tokens, private keys), token `[SECRET]`.
    Secret,
    /// `custom:<name>`, token `[CUSTOM:<NAME>]` (name upper-cased).
    Custom(CustomName),
}

impl PiiCategory {
    /// The built-in categories in priority order (secret first, phone last).
    pub const BUILT_IN: [PiiCategory; 8] = [
        PiiCategory::Secret,
        PiiCategory::Email,
        PiiCategory::Iban,
        PiiCategory::PaymentCard,
        PiiCategory::UsSsn,
        PiiCategory::Ipv6,
        PiiCategory::Ipv4,
        PiiCategory::Phone,
    ];

    /// A custom category, after checking the name.
    ///
    /// # Errors
    /// [`PiiError::InvalidCustomName`] for a bad name.
    pub fn custom(name: &str) -> Result<PiiCategory, PiiError> {
        CustomName::new(name).map(PiiCategory::Custom)
    }

    fn builtin_name(&self) -> Option<&'static str> {
        Some(match self {
            PiiCategory::Email => "email",
            PiiCategory::Phone => "phone",
            PiiCategory::Ipv4 => "ipv4",
            PiiCategory::Ipv6 => "ipv6",
            PiiCategory::Iban => "iban",
            PiiCategory::PaymentCard => "payment_card",
            PiiCategory::UsSsn => "us_ssn",
            PiiCategory::Secret => "secret",
            PiiCategory::Custom(_) => return None,
        })
    }

    /// The stable snake_case name: `email`, `payment_card`, `custom:<name>` ….
    pub fn name(&self) -> Cow<'static, str> {
        match self {
            PiiCategory::Custom(c) => Cow::Owned(format!("custom:{}", c.as_str())),
            other => Cow::Borrowed(other.builtin_name().unwrap_or_default()),
        }
    }

    /// The label inside tokens: `EMAIL`, `CARD`, `SSN`, `CUSTOM:<NAME>` ….
    pub fn token_label(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            PiiCategory::Email => "EMAIL",
            PiiCategory::Phone => "PHONE",
            PiiCategory::Ipv4 => "IPV4",
            PiiCategory::Ipv6 => "IPV6",
            PiiCategory::Iban => "IBAN",
            PiiCategory::PaymentCard => "CARD",
            PiiCategory::UsSsn => "SSN",
            PiiCategory::Secret => "SECRET",
            PiiCategory::Custom(c) => {
                return Cow::Owned(format!("CUSTOM:{}", c.as_str().to_ascii_uppercase()))
            }
        })
    }

    /// The Redact-mode token, e.g. `[EMAIL]`.
    pub fn token(&self) -> String {
        format!("[{}]", self.token_label())
    }

    /// Priority rank (algorithm step 5): smaller wins.
    pub fn rank(&self) -> u8 {
        match self {
            PiiCategory::Secret => 0,
            PiiCategory::Custom(_) => 1,
            PiiCategory::Email => 2,
            PiiCategory::Iban => 3,
            PiiCategory::PaymentCard => 4,
            PiiCategory::UsSsn => 5,
            PiiCategory::Ipv6 => 6,
            PiiCategory::Ipv4 => 7,
            PiiCategory::Phone => 8,
        }
    }
}

/// Ordered by [`PiiCategory::name`], byte-wise (so every `custom:…` sorts
/// before the built-ins, which start with letters after `c`).
impl Ord for PiiCategory {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (PiiCategory::Custom(a), PiiCategory::Custom(b)) => a.cmp(b),
            (PiiCategory::Custom(_), _) => std::cmp::Ordering::Less,
            (_, PiiCategory::Custom(_)) => std::cmp::Ordering::Greater,
            _ => self.builtin_name().cmp(&other.builtin_name()),
        }
    }
}

impl PartialOrd for PiiCategory {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for PiiCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for PiiCategory {
    type Err = PiiError;

    /// Parses a [`PiiCategory::name`].
    fn from_str(s: &str) -> Result<PiiCategory, PiiError> {
        if let Some(rest) = s.strip_prefix("custom:") {
            return PiiCategory::custom(rest);
        }
        PiiCategory::BUILT_IN
            .into_iter()
            .find(|c| c.builtin_name() == Some(s))
            .ok_or(PiiError::UnknownCategory)
    }
}

impl Serialize for PiiCategory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for PiiCategory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for PiiCategory {
    fn schema_name() -> Cow<'static, str> {
        "PiiCategory".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(email|phone|ipv4|ipv6|iban|payment_card|us_ssn|secret|custom:[a-z0-9_]{1,32})$",
            "description": "PII category name"
        })
    }
}

/// How many values of one category were stripped. Never the values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PiiCount {
    /// The category.
    pub category: PiiCategory,
    /// How many values were stripped (at least 1 in a report).
    pub count: u32,
}

/// What was stripped: per category, how many values — never the values.
///
/// JSON form: `{"found":[{"category":"email","count":2}, …]}`, entries sorted
/// by category name (byte order), each category once, counts ≥ 1. Reading
/// refuses any other arrangement, so one report has one text form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, try_from = "PiiReportWire")]
pub struct PiiReport {
    /// Non-zero counts, sorted by category.
    found: Vec<PiiCount>,
}

/// The reading form of [`PiiReport`], checked by `TryFrom`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PiiReport")]
struct PiiReportWire {
    /// Non-zero counts, sorted by category.
    found: Vec<PiiCount>,
}

impl TryFrom<PiiReportWire> for PiiReport {
    type Error = &'static str;
    fn try_from(w: PiiReportWire) -> Result<Self, Self::Error> {
        if w.found.iter().any(|c| c.count == 0) {
            return Err("a PII report lists only non-zero counts");
        }
        if w.found.windows(2).any(|p| p[0].category >= p[1].category) {
            return Err("a PII report lists each category once, sorted by name");
        }
        Ok(PiiReport { found: w.found })
    }
}

impl PiiReport {
    /// An empty report.
    pub fn new() -> PiiReport {
        PiiReport::default()
    }

    /// The non-zero counts, sorted by category name.
    pub fn found(&self) -> &[PiiCount] {
        &self.found
    }

    /// The count for `category` (0 when absent).
    pub fn count(&self, category: &PiiCategory) -> u32 {
        self.found
            .binary_search_by(|c| c.category.cmp(category))
            .map_or(0, |i| self.found[i].count)
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.found.iter().map(|c| u64::from(c.count)).sum()
    }

    /// True when nothing was stripped.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Adds `n` to `category`'s count (saturating), keeping the order.
    pub fn add(&mut self, category: &PiiCategory, n: u32) {
        if n == 0 {
            return;
        }
        match self.found.binary_search_by(|c| c.category.cmp(category)) {
            Ok(i) => self.found[i].count = self.found[i].count.saturating_add(n),
            Err(i) => self.found.insert(
                i,
                PiiCount {
                    category: category.clone(),
                    count: n,
                },
            ),
        }
    }

    /// Adds every count of `other` (e.g. input + output + free texts of one receipt).
    pub fn merge(&mut self, other: &PiiReport) {
        for c in &other.found {
            self.add(&c.category, c.count);
        }
    }
}
