//! Whose request it is: the person a request is booked to, kept per request
//! id so that spend per person follows the request, not the copy that
//! happened to name the person.
//!
//! Claude Code writes a request twice: in the transcript (which names
//! nobody) and in its OpenTelemetry `api_request` event (`user.email`).
//! Whichever copy comes first books the money; the request's person is the
//! first one any copy names, and from then on every dollar of the request —
//! what was booked before the person was known, and any later growth — is
//! that person's (`Booked::user_cost`). Kept beside the seen index and
//! trimmed with it; rebuilt by replaying the journal, since every `Booked`
//! that names a person notes it here.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::state::seen::SeenIndex;
use crate::usage::{EventId, UsageEvent};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RequestPeople {
    #[serde(with = "super::pairs")]
    by_request: HashMap<EventId, String>,
}

impl RequestPeople {
    /// The person of `event`'s request, under its id or the id an earlier
    /// release gave it.
    pub fn person_of(&self, event: &UsageEvent) -> Option<&str> {
        self.by_request.get(&event.id).or_else(|| event.earlier_id.and_then(|id| self.by_request.get(&id))).map(String::as_str)
    }

    /// Notes the person of a request; the first one named stays.
    pub fn note(&mut self, id: EventId, person: &str) {
        self.by_request.entry(id).or_insert_with(|| person.to_string());
    }

    /// Forgets the requests the seen index forgot.
    pub fn retain_seen(&mut self, seen: &SeenIndex) {
        self.by_request.retain(|id, _| seen.get(id).is_some());
    }

    pub fn len(&self) -> usize {
        self.by_request.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_request.is_empty()
    }
}
