//! `cer sync`: copies every report of a day or a range that the store lacks into it.

use crate::cli::SyncArgs;

use super::Context;

pub async fn run(_args: &SyncArgs, _context: &Context) -> anyhow::Result<()> {
    anyhow::bail!("cer sync is not available yet")
}
