//! Whether a customer asked to be called back, as the record and the desk say it.

use serde::{Deserialize, Serialize};

/// The record's `requestedCallback`: `n/a` until a prompt went out, `pending`
/// until the customer taps, then `yes` or `no`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum RequestedCallback {
    #[default]
    #[serde(rename = "n/a")]
    NotAsked,
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "yes")]
    Yes,
    #[serde(rename = "no")]
    No,
}

impl RequestedCallback {
    pub const ALL: [RequestedCallback; 4] = [Self::Yes, Self::No, Self::Pending, Self::NotAsked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAsked => "n/a",
            Self::Pending => "pending",
            Self::Yes => "yes",
            Self::No => "no",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The answer a tap gives.
    pub fn answer(yes: bool) -> Self {
        if yes {
            Self::Yes
        } else {
            Self::No
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_as_the_api_writes_them() {
        for v in RequestedCallback::ALL {
            assert_eq!(RequestedCallback::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::json!(v.as_str())
            );
        }
        assert_eq!(RequestedCallback::parse("maybe"), None);
    }

    #[test]
    fn a_tap_answers_yes_or_no() {
        assert_eq!(RequestedCallback::answer(true), RequestedCallback::Yes);
        assert_eq!(RequestedCallback::answer(false), RequestedCallback::No);
    }
}
