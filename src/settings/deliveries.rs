//! `cer deliveries`' settings: the store and what to list, retry or forget.

use super::Settings;
use super::persistence::store_location;
use crate::cli::DeliveriesArgs;
use crate::errors::UsageError;
use crate::store::StoreLocation;

/// `cer deliveries`, resolved.
#[derive(Debug, Clone)]
pub struct DeliveriesSettings {
    pub store: StoreLocation,
    /// Only the deliveries that failed for good.
    pub failed: bool,
    /// One JSON object per delivery, also on a terminal.
    pub json: bool,
    /// Queue the failed deliveries again instead of listing.
    pub retry: bool,
    /// `--forget TARGET`: unregister the target (a tag or a URL) and drop its queue.
    pub forget: Option<String>,
    /// `TZ`: the zone of the times a person reads.
    pub zone: jiff::tz::TimeZone,
}

impl DeliveriesSettings {
    pub fn resolve(args: &DeliveriesArgs, settings: &Settings) -> Result<Self, UsageError> {
        Ok(Self {
            store: store_location(&args.store, settings)?,
            failed: args.failed,
            json: args.json,
            retry: args.retry,
            forget: args.forget.clone(),
            zone: settings.time_zone.clone(),
        })
    }
}
