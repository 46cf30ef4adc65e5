//! Bounded label values: past a configured number of distinct `app` or
//! `model` values, the rest are booked under `other`, so a flood of names
//! cannot grow memory or series without limit. The sets are part of the
//! state, so the choice survives restarts and replays the same way.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub const OTHER: &str = "other";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Labels {
    apps: BTreeSet<String>,
    models: BTreeSet<String>,
    /// People with spend of their own (`limits.max_users`).
    #[serde(default)]
    users: BTreeSet<String>,
    #[serde(skip)]
    warned: (bool, bool),
    #[serde(skip)]
    warned_users: bool,
}

impl Labels {
    /// The label values to book under, given the limits.
    pub fn bound(&mut self, app: &str, model: &str, max_apps: usize, max_models: usize) -> (String, String) {
        let app = bound_one(&self.apps, app, max_apps, &mut self.warned.0, "app");
        let model = bound_one(&self.models, model, max_models, &mut self.warned.1, "model");
        (app, model)
    }

    /// The `user` label value to book under: past `max_users` people, `other`.
    pub fn bound_user(&mut self, user: &str, max_users: usize) -> String {
        bound_one(&self.users, user, max_users, &mut self.warned_users, "user")
    }

    pub fn note_user(&mut self, user: &str) {
        if !self.users.contains(user) {
            self.users.insert(user.to_string());
        }
    }

    /// Records values that were booked.
    pub fn note(&mut self, app: &str, model: &str) {
        if !self.apps.contains(app) {
            self.apps.insert(app.to_string());
        }
        if !self.models.contains(model) {
            self.models.insert(model.to_string());
        }
    }
}

fn bound_one(known: &BTreeSet<String>, value: &str, max: usize, warned: &mut bool, what: &str) -> String {
    // `other` itself does not use up a place.
    let used = known.len() - usize::from(known.contains(OTHER));
    if known.contains(value) || used < max {
        return value.to_string();
    }
    if !std::mem::replace(warned, true) {
        tracing::warn!(
            limit = max,
            value,
            "more than {max} distinct {what} values: booking the rest as `{OTHER}` (raise limits.max_{what}s)"
        );
    }
    OTHER.to_string()
}

/// Bounds that keep memory and series finite whatever the logs say.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Distinct `app` label values; past this, `other`.
    pub max_apps: usize,
    /// Distinct `model` label values; past this, `other`.
    pub max_models: usize,
    /// Longest line read; the rest of a longer one is skipped as an error.
    pub max_line_bytes: usize,
    /// Distinct `user` label values of `creditwatch_user_spend_usd_total`; past this, `other`.
    pub max_users: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_apps: 50, max_models: 50, max_line_bytes: 4 * 1024 * 1024, max_users: 100 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_values_become_other() {
        let mut labels = Labels::default();
        for (app, want) in [("a", "a"), ("b", "b"), ("c", "other"), ("a", "a"), ("d", "other")] {
            let (got, _) = labels.bound(app, "m", 2, 5);
            assert_eq!(got, want, "{app}");
            labels.note(&got, "m");
        }
    }
}
