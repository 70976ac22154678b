//! `cer summaries`' settings: the range, the one selector GoTo takes, the filters and the
//! page size, checked before any request.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::range::{non_empty, zoned_range};
use super::{Settings, missing_account_key};
use crate::api::reports::Selector;
use crate::cli::SummariesArgs;
use crate::errors::UsageError;
use crate::outcome::GOTO_CALLER_OUTCOMES;

pub const SCOPES: [&str; 2] = ["INTERNAL", "EXTERNAL"];
pub const MAX_PAGE_SIZE: u32 = 1000;

#[derive(Debug, Clone)]
pub struct SummariesSettings {
    pub selector: Selector,
    pub start: Timestamp,
    pub end: Timestamp,
    pub zone: TimeZone,
    pub virtual_participant_id: Option<String>,
    pub scope: Option<String>,
    pub outcome: Option<String>,
    /// `--page-size`, if given.
    pub page_size: Option<u32>,
    pub limit: Option<u64>,
    /// `--all`: no row limit on a terminal.
    pub all: bool,
    /// `--stats`: the glance alone.
    pub stats: bool,
    pub json: bool,
    /// `COLUMNS`: how wide the table may be when the terminal cannot say.
    pub columns: Option<usize>,
}

impl SummariesSettings {
    pub fn resolve(
        args: &SummariesArgs,
        settings: &Settings,
        now: Timestamp,
        local: TimeZone,
    ) -> Result<Self, UsageError> {
        let (zone, start, end) = zoned_range(&args.range, now, local)?;
        Ok(Self {
            selector: selector(args, settings)?,
            start,
            end,
            zone,
            virtual_participant_id: args.virtual_participant_id.clone(),
            scope: one_of("--scope", args.scope.as_deref(), &SCOPES)?,
            outcome: one_of("--outcome", args.outcome.as_deref(), &GOTO_CALLER_OUTCOMES)?,
            page_size: page_size(args.page_size)?,
            limit: match args.limit {
                Some(0) => {
                    return Err(UsageError::new("--limit 0 would print nothing")
                        .with_hint("leave --limit out to print every summary"));
                }
                other => other,
            },
            all: args.all,
            stats: args.stats,
            json: args.json,
            columns: settings.columns,
        })
    }
}

fn selector(args: &SummariesArgs, settings: &Settings) -> Result<Selector, UsageError> {
    let given = [
        ("--account-key", &args.account_key),
        ("--user-key", &args.user_key),
        ("--line-id", &args.line_id),
        ("--phone-number-id", &args.phone_number_id),
        ("--virtual-participant-id", &args.virtual_participant_id),
    ];
    for (flag, value) in given {
        if let Some(value) = value {
            non_empty(flag, value)?;
        }
    }
    let chosen: Vec<Selector> = [
        args.user_key.clone().map(Selector::UserKey),
        args.line_id.clone().map(Selector::LineId),
        args.phone_number_id.clone().map(Selector::PhoneNumberId),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut chosen = chosen.into_iter();
    match (chosen.next(), chosen.next()) {
        (None, _) => args
            .account_key
            .clone()
            .or_else(|| settings.account_key.clone())
            .map(Selector::AccountKey)
            .ok_or_else(missing_account_key),
        (Some(one), None) => Ok(one),
        (Some(_), Some(_)) => Err(UsageError::new(
            "--user-key, --line-id and --phone-number-id cannot be combined: GoTo takes one selector",
        )),
    }
}

fn one_of(flag: &str, value: Option<&str>, allowed: &[&str]) -> Result<Option<String>, UsageError> {
    let Some(value) = value else { return Ok(None) };
    let upper = value.to_ascii_uppercase();
    if allowed.contains(&upper.as_str()) {
        Ok(Some(upper))
    } else {
        Err(
            UsageError::new(format!("{flag} {value:?} is not a value GoTo knows"))
                .with_hint(format!("use one of {}", allowed.join(", "))),
        )
    }
}

/// The page size the user asked for; `None` lets the pager choose (see `api::pager`).
fn page_size(value: Option<u32>) -> Result<Option<u32>, UsageError> {
    match value {
        None => Ok(None),
        Some(n @ 1..=MAX_PAGE_SIZE) => Ok(Some(n)),
        Some(n) => Err(UsageError::new(format!(
            "--page-size {n} is out of GoTo's bounds (1 to {MAX_PAGE_SIZE})"
        ))),
    }
}

#[cfg(test)]
mod tests;
