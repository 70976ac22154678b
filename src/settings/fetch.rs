//! `cer fetch`'s settings: the conversationSpaceIds checked before any request, the wait and
//! the JSON layout.

use std::time::Duration;

use crate::cli::FetchArgs;
use crate::errors::UsageError;
use crate::report::ConversationId;

/// `fetch`'s JSON layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    /// Pretty on a terminal, compact otherwise.
    Auto,
    Pretty,
    Compact,
}

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub ids: Vec<String>,
    pub wait: Option<Duration>,
    pub layout: JsonLayout,
}

impl FetchSettings {
    pub fn resolve(args: &FetchArgs) -> Result<Self, UsageError> {
        for id in &args.ids {
            if !ConversationId::is_valid(id) {
                return Err(UsageError::new(format!(
                    "{id:?} is not a conversationSpaceId (a UUID like 29a1c77a-e52a-3764-8606-8b02b1277be8)"
                ))
                .with_hint("`cer summaries` lists the IDs of past calls"));
            }
        }
        let layout = match (args.pretty, args.compact) {
            (true, _) => JsonLayout::Pretty,
            (_, true) => JsonLayout::Compact,
            _ => JsonLayout::Auto,
        };
        Ok(Self {
            ids: args.ids.clone(),
            wait: args.wait.map(Duration::from_secs),
            layout,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_recognised() {
        assert!(crate::report::ConversationId::is_valid(
            "29a1c77a-e52a-3764-8606-8b02b1277be8"
        ));
        assert!(crate::report::ConversationId::is_valid(
            "29A1C77A-E52A-3764-8606-8B02B1277BE8"
        ));
        for bad in [
            "",
            "29a1c77a",
            "29a1c77a-e52a-3764-8606-8b02b1277be",
            "g9a1c77a-e52a-3764-8606-8b02b1277be8",
            "29a1c77ae52a-3764-8606-8b02-b1277be8",
        ] {
            assert!(!crate::report::ConversationId::is_valid(bad), "{bad}");
        }
    }
}
