//! Any JSON-lines log, read through the source's `field_map`: a JSON pointer
//! for each thing a usage event needs. A gateway's own log becomes a source
//! without code.
//!
//! Only `model` is required. Lines without a model value are not requests
//! (a gateway logs other things too) and are skipped; a line with a model
//! whose other mapped fields are malformed is an error. Without an `id`
//! pointer (or value) each line is its own request.
//!
//! What real gateways write is read as they write it: counts as numeric
//! strings (`"21"`), a stated cost in another unit (`cost_scale: 0.01` for
//! Portkey's cents), times without offset (UTC, or `timezone`), the tier
//! (`service_tier`, `speed`, `inference_geo` pointers). `skip` conditions
//! name lines that are logged but not billed (a cache hit, `is_success: 0`,
//! a non-2xx status): they are skipped with the condition as the reason.

use std::fmt;
use std::sync::Arc;

use chrono::Utc;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::attribution::Attribution;
use super::fields::{self, FieldSet};
use super::messages_usage;
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, ServiceTier, Tokens, UsageEvent};

/// `field_map:` of a `jsonl` source: JSON pointers such as `/usage/input`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    pub model: String,
    pub id: Option<String>,
    /// RFC 3339 text, epoch seconds or milliseconds, or a naive date-time.
    pub timestamp: Option<String>,
    pub input_tokens: Option<String>,
    pub output_tokens: Option<String>,
    pub cache_write_5m_tokens: Option<String>,
    pub cache_write_1h_tokens: Option<String>,
    pub cache_read_tokens: Option<String>,
    pub web_searches: Option<String>,
    /// A cost the log states (in dollars, or times `cost_scale`): taken
    /// instead of the price table.
    pub cost: Option<String>,
    pub app: Option<String>,
    pub account: Option<String>,
    pub user_agent: Option<String>,
    /// The tier words (`batch`, `flex`, `priority`; anything else standard).
    pub service_tier: Option<String>,
    /// `fast` is fast mode.
    pub speed: Option<String>,
    /// `us` is US-only inference.
    pub inference_geo: Option<String>,
    /// A flag (true, 1, "true", "yes") that the request ran as a batch.
    pub batch: Option<String>,
    /// What the stated cost is multiplied by to make dollars (Portkey: 0.01).
    #[serde(default, deserialize_with = "decimal")]
    pub cost_scale: Option<Decimal>,
    /// The zone of naive timestamps; UTC when unset.
    #[serde(default, deserialize_with = "fields::time_zone")]
    pub timezone: Option<Tz>,
    /// Lines with a model that are not billed: skipped when any condition holds.
    #[serde(default)]
    pub skip: Vec<SkipCondition>,
}

/// `skip:` item: `{ field: /cache_status, equals: [HIT] }` or
/// `{ field: /status, outside: [200, 299] }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipCondition {
    pub field: String,
    /// The value is one of these (strings, numbers and booleans compare by
    /// their text: `0` matches `0` and `"0"`).
    #[serde(default)]
    pub equals: Option<OneOrMany>,
    /// The value is a number outside this inclusive range.
    #[serde(default, deserialize_with = "range")]
    pub outside: Option<[Decimal; 2]>,
}

/// One scalar or a list of them, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

/// The map's pointer keys, in slot order.
const KEYS: [&str; 17] = [
    "model",
    "id",
    "timestamp",
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "web_searches",
    "cost",
    "app",
    "account",
    "user_agent",
    "service_tier",
    "speed",
    "inference_geo",
    "batch",
];

impl FieldMap {
    /// (key, pointer) of every mapped field, in `KEYS` order.
    pub fn entries(&self) -> Vec<(&'static str, Option<&str>)> {
        let values = [
            Some(&self.model),
            self.id.as_ref(),
            self.timestamp.as_ref(),
            self.input_tokens.as_ref(),
            self.output_tokens.as_ref(),
            self.cache_write_5m_tokens.as_ref(),
            self.cache_write_1h_tokens.as_ref(),
            self.cache_read_tokens.as_ref(),
            self.web_searches.as_ref(),
            self.cost.as_ref(),
            self.app.as_ref(),
            self.account.as_ref(),
            self.user_agent.as_ref(),
            self.service_tier.as_ref(),
            self.speed.as_ref(),
            self.inference_geo.as_ref(),
            self.batch.as_ref(),
        ];
        KEYS.into_iter().zip(values.map(|v| v.map(String::as_str))).collect()
    }

    /// Checks every pointer and condition; the error names the key
    /// (`cost`, `skip[1].field`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (key, pointer) in self.entries() {
            if let Some(p) = pointer {
                fields::parse_pointer(p).map_err(|e| (key.to_string(), e))?;
            }
        }
        for (i, c) in self.skip.iter().enumerate() {
            fields::parse_pointer(&c.field).map_err(|e| (format!("skip[{i}].field"), e))?;
            match (&c.equals, &c.outside) {
                (None, None) => return Err((format!("skip[{i}]"), "a condition needs `equals` or `outside`".into())),
                (Some(_), Some(_)) => return Err((format!("skip[{i}]"), "one condition is `equals` or `outside`, not both".into())),
                (None, Some([low, high])) if low > high => {
                    return Err((format!("skip[{i}].outside"), format!("[{low}, {high}] is not a range (low first)")))
                }
                _ => {}
            }
        }
        if self.cost_scale.is_some_and(|s| s <= Decimal::ZERO) {
            return Err(("cost_scale".into(), "must be above 0".into()));
        }
        Ok(())
    }
}

fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let text = OneOrMany::deserialize(d)?;
    match text.0.as_slice() {
        [one] => crate::usage::money::parse(one).map(Some).map_err(de::Error::custom),
        _ => Err(de::Error::custom("want a number, like 0.01")),
    }
}

fn range<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[Decimal; 2]>, D::Error> {
    let text = OneOrMany::deserialize(d)?;
    let bound = |t: &String| crate::usage::money::parse(t).map_err(de::Error::custom);
    match text.0.as_slice() {
        [low, high] => Ok(Some([bound(low)?, bound(high)?])),
        _ => Err(de::Error::custom("want [LOW, HIGH], like [200, 299]")),
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OneOrMany, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<OneOrMany, S::Error> {
                let mut all = Vec::new();
                while let Some(one) = seq.next_element::<OneOrMany>()? {
                    match <[String; 1]>::try_from(one.0) {
                        Ok([one]) => all.push(one),
                        Err(_) => return Err(de::Error::custom("a list of scalars, not of lists")),
                    }
                }
                Ok(OneOrMany(all))
            }
        }
        d.deserialize_any(V)
    }
}

pub struct JsonlParser {
    fields: FieldSet,
    /// Slot in `fields` of each of `KEYS`, when mapped.
    slots: [Option<usize>; KEYS.len()],
    /// Each skip condition with the slot of its field.
    skip: Vec<(usize, SkipCondition)>,
    cost_scale: Option<Decimal>,
    timezone: Option<Tz>,
    attribution: Arc<Attribution>,
    /// Why the last line was not booked (see `LineParser::skip_reason`).
    skipped: Option<String>,
}

impl JsonlParser {
    pub fn new<'a>(map: &'a FieldMap, attribution: Arc<Attribution>) -> Result<JsonlParser, String> {
        let mut slots = [None; KEYS.len()];
        let mut pointers: Vec<&str> = Vec::new();
        // Two keys may read one field (app and account from a team name).
        let mut slot_of = |p: &'a str| match pointers.iter().position(|q| *q == p) {
            Some(at) => at,
            None => {
                pointers.push(p);
                pointers.len() - 1
            }
        };
        for (i, (_, pointer)) in map.entries().into_iter().enumerate() {
            slots[i] = pointer.map(&mut slot_of);
        }
        let skip = map.skip.iter().map(|c| (slot_of(&c.field), c.clone())).collect();
        Ok(JsonlParser {
            fields: FieldSet::new(&pointers)?,
            slots,
            skip,
            cost_scale: map.cost_scale,
            timezone: map.timezone,
            attribution,
            skipped: None,
        })
    }
}

// Slots of `KEYS`.
const MODEL: usize = 0;
const ID: usize = 1;
const TIMESTAMP: usize = 2;
const COST: usize = 9;
const APP: usize = 10;
const ACCOUNT: usize = 11;
const USER_AGENT: usize = 12;
const SERVICE_TIER: usize = 13;
const SPEED: usize = 14;
const INFERENCE_GEO: usize = 15;
const BATCH: usize = 16;

impl LineParser for JsonlParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        self.skipped = None;
        let values = self.fields.extract(line)?;
        let get = |key: usize| self.slots[key].and_then(|slot| values[slot]);
        let count = |key: usize| fields::count(get(key), KEYS[key]).map(Option::unwrap_or_default);
        let Some(model) = fields::string(get(MODEL), "model")?.filter(|m| !m.is_empty()) else {
            return Ok(None);
        };
        for (i, (slot, condition)) in self.skip.iter().enumerate() {
            if let Some(value) = holds(condition, values[*slot])? {
                self.skipped = Some(format!("field_map.skip[{i}]: {} is {value}: not billed", condition.field));
                return Ok(None);
            }
        }
        let id = match fields::string(get(ID), "id")? {
            Some(id) if !id.is_empty() => EventId::from_parts("jsonl", &[&id]),
            _ => EventId::from_parts("jsonl/line", &[&String::from_utf8_lossy(line)]),
        };
        let timestamp = fields::timestamp_in(get(TIMESTAMP), "timestamp", self.timezone)?.unwrap_or_else(Utc::now);
        let tokens =
            Tokens { input: count(3)?, output: count(4)?, cache_write_5m: count(5)?, cache_write_1h: count(6)?, cache_read: count(7)? };
        let mut event = UsageEvent::new(id, timestamp, model.into_owned(), tokens);
        event.web_searches = count(8)?;
        let cost = fields::decimal(get(COST), "cost")?;
        event.stated_cost = match (cost, self.cost_scale) {
            (Some(cost), Some(scale)) => {
                Some(cost.checked_mul(scale).ok_or_else(|| LineError::new(format!("cost: {cost} times {scale} is out of range")))?)
            }
            (cost, None) => cost,
            (None, _) => None,
        };
        let word = |key: usize| fields::string(get(key), KEYS[key]);
        let (tier, speed, geo) = (word(SERVICE_TIER)?, word(SPEED)?, word(INFERENCE_GEO)?);
        event.modifiers = messages_usage::modifiers(tier.as_deref(), speed.as_deref(), geo.as_deref());
        if word(BATCH)?.is_some_and(|flag| ["true", "1", "yes", "batch"].iter().any(|t| flag.eq_ignore_ascii_case(t))) {
            event.modifiers.tier = ServiceTier::Batch;
        }
        let app = fields::string(get(APP), "app")?;
        let user_agent = fields::string(get(USER_AGENT), "user_agent")?;
        event.app = self.attribution.app_of_line(app.as_deref(), user_agent.as_deref());
        event.account = fields::string(get(ACCOUNT), "account")?.filter(|a| !a.is_empty()).map(|a| a.into_owned());
        Ok(Some(event))
    }

    fn skip_reason(&mut self) -> Option<String> {
        self.skipped.take()
    }
}

/// The value (as shown in the reason) when `condition` holds for it.
fn holds(condition: &SkipCondition, raw: Option<&RawValue>) -> Result<Option<String>, LineError> {
    let Some(text) = fields::string(raw, &condition.field)? else {
        return Ok(None);
    };
    if let Some(OneOrMany(values)) = &condition.equals {
        return Ok(values.iter().any(|v| *v == text).then(|| format!("`{text}`")));
    }
    if let Some([low, high]) = condition.outside {
        let outside = crate::usage::money::parse(&text).is_ok_and(|n| n < low || n > high);
        return Ok(outside.then(|| format!("{text}, outside [{low}, {high}]")));
    }
    Ok(None)
}

#[cfg(test)]
#[path = "jsonl_tests.rs"]
mod tests;
