//! `litellm:` of a `litellm` source: which of the payload's names is the app
//! and the account, whether to trust LiteLLM's cost, the zone of naive times.

use std::fmt;

use chrono_tz::Tz;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// `litellm:` of a `litellm` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LitellmOptions {
    /// The payload name that is the app (with `app_from: field`).
    pub app_key: MetadataKey,
    /// The payload name that is the account; the source's `account` when unset.
    pub account_key: Option<MetadataKey>,
    /// Price the tokens with the price table instead of taking `response_cost`.
    pub recompute_cost: bool,
    /// The zone of timestamps written without an offset (spend-log rows:
    /// `2025-01-24 09:20:46.847371`); UTC when unset.
    #[serde(deserialize_with = "super::fields::time_zone")]
    pub timezone: Option<Tz>,
}

/// A name a LiteLLM payload carries about who made the call: a virtual-key
/// metadata field, the model group, the end user, or a request tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MetadataKey {
    /// `metadata.user_api_key_alias`
    KeyAlias,
    /// `metadata.user_api_key_team_alias`
    #[default]
    TeamAlias,
    /// `metadata.user_api_key_team_id`
    TeamId,
    /// `metadata.user_api_key_user_id`
    UserId,
    /// `metadata.user_api_key_user_email`
    UserEmail,
    /// `metadata.user_api_key_org_id`
    OrgId,
    /// `metadata.user_api_key_org_alias`
    OrgAlias,
    /// `metadata.user_api_key_project_id`
    ProjectId,
    /// `metadata.user_api_key_project_alias`
    ProjectAlias,
    /// `end_user` (else `metadata.user_api_key_end_user_id`)
    EndUser,
    /// `model_group`: the model name the caller asked for
    ModelGroup,
    /// The first of `request_tags`
    RequestTag,
    /// `{ tag: NAME }`: the value of the first request tag `NAME:value`
    /// (or `NAME=value`), as in LiteLLM's `tags: ["app:billing"]`.
    Tag(String),
}

const NAMES: [(&str, MetadataKey); 12] = [
    ("key_alias", MetadataKey::KeyAlias),
    ("team_alias", MetadataKey::TeamAlias),
    ("team_id", MetadataKey::TeamId),
    ("user_id", MetadataKey::UserId),
    ("user_email", MetadataKey::UserEmail),
    ("org_id", MetadataKey::OrgId),
    ("org_alias", MetadataKey::OrgAlias),
    ("project_id", MetadataKey::ProjectId),
    ("project_alias", MetadataKey::ProjectAlias),
    ("end_user", MetadataKey::EndUser),
    ("model_group", MetadataKey::ModelGroup),
    ("request_tag", MetadataKey::RequestTag),
];

impl<'de> Deserialize<'de> for MetadataKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MetadataKey, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = MetadataKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                write!(f, "one of {}, or {{ tag: NAME }}", names.join(", "))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MetadataKey, E> {
                NAMES.iter().find(|(n, _)| *n == v).map(|(_, k)| k.clone()).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<MetadataKey, M::Error> {
                let mut tag: Option<String> = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "tag" => tag = Some(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["tag"])),
                    }
                }
                match tag {
                    Some(t) if !t.is_empty() => Ok(MetadataKey::Tag(t)),
                    Some(_) => Err(de::Error::invalid_value(de::Unexpected::Str(""), &"a tag name")),
                    None => Err(de::Error::missing_field("tag")),
                }
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

/// The value of tag `name` among `tags` (`name:value` or `name=value`).
pub fn tag_value<'t>(tags: &'t [String], name: &str) -> Option<&'t str> {
    tags.iter().find_map(|t| t.strip_prefix(name)?.strip_prefix([':', '='])).map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_by_name_or_tag() {
        let o: LitellmOptions =
            serde_yaml_ng::from_str("{ app_key: model_group, account_key: { tag: team }, timezone: Europe/Berlin }").unwrap();
        assert_eq!((o.app_key, o.account_key), (MetadataKey::ModelGroup, Some(MetadataKey::Tag("team".into()))));
        assert_eq!(o.timezone, Some(chrono_tz::Europe::Berlin));
        for (yaml, message) in [
            ("{ app_key: team }", "invalid value: string \"team\", expected one of key_alias, team_alias"),
            ("{ app_key: { label: x } }", "unknown field `label`, expected `tag`"),
            ("{ app_key: {} }", "missing field `tag`"),
            ("{ timezone: Mars/Olympus }", "unknown time zone `Mars/Olympus`"),
        ] {
            let e = serde_yaml_ng::from_str::<LitellmOptions>(yaml).unwrap_err().to_string();
            assert!(e.contains(message), "{yaml}: {e}");
        }
        let tags = ["jobID:214590dsff09fds".to_string(), "app=billing".into(), "team: support ".into()];
        assert_eq!((tag_value(&tags, "app"), tag_value(&tags, "team"), tag_value(&tags, "job")), (Some("billing"), Some("support"), None));
    }
}
