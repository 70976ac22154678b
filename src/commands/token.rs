//! `cer token`: a valid access token alone on stdout, for `curl -H "Authorization: Bearer ..."`.

use anyhow::Context as _;

use super::Context;
use crate::exit_status::ExitStatus;

pub async fn run(context: &Context) -> anyhow::Result<ExitStatus> {
    let token = context
        .tokens()
        .access_token()
        .await
        .context("cannot get an access token")?;
    // The one place a token may be printed: this command exists to print it.
    context
        .output
        .data(format!("{}\n", token.expose()).as_bytes())?;
    Ok(ExitStatus::Success)
}
