//! `cer deliveries`: lists the forwarding outbox; `--retry` queues failed deliveries again.

use crate::cli::DeliveriesArgs;

use super::Context;

pub async fn run(_args: &DeliveriesArgs, _context: &Context) -> anyhow::Result<()> {
    anyhow::bail!("cer deliveries is not available yet")
}
