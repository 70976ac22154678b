//! `cer logout`: deletes the stored tokens from every store cer may have used.

use super::Context;
use crate::auth::store::TokenStore;
use crate::exit_status::ExitStatus;
use crate::settings::logout::LogoutSettings;

pub async fn run(settings: LogoutSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    if settings.sandbox {
        // The sandbox session's tokens live in memory; the real stores are not its to touch.
        context
            .output
            .status("The sandbox keeps its tokens in memory only; nothing to delete.");
        return Ok(ExitStatus::Success);
    }
    if settings.fixed_token {
        context
            .output
            .warn("CER_TOKEN is set; it is not stored by cer, so unset it yourself");
    }
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for store in context.stores().all() {
        match store.delete().await {
            Ok(true) => deleted.push(store.describe()),
            Ok(false) => {}
            // A keyring that is not there is normal; a file that stays is tokens left on disk.
            Err(err) if matches!(store, TokenStore::Keyring) => {
                tracing::debug!("not deleted from {}: {err}", store.describe());
            }
            Err(err) => failures.push(err.to_string()),
        }
    }
    if !failures.is_empty() {
        anyhow::bail!("the stored tokens are still there: {}", failures.join("; "));
    }
    if deleted.is_empty() {
        context
            .output
            .status("Not logged in: no stored tokens to delete.");
    } else {
        context.output.status(format!(
            "Logged out: deleted the tokens from {}.",
            deleted.join(" and ")
        ));
    }
    Ok(ExitStatus::Success)
}
