//! `cer login`: the OAuth authorization-code flow with PKCE, through a browser and a loopback
//! listener, or `--no-browser` with the redirect address pasted back; then the tokens are stored.

use std::io::IsTerminal;

use anyhow::Context as _;
use tokio::io::AsyncBufReadExt;
use url::Url;

use super::Context;
use crate::auth::oauth::RECORDING_SCOPES;
use crate::auth::recordings::RecordingAccess;
use crate::auth::redirect::{LoginError, RedirectListener, check_pasted};
use crate::auth::store::TokenStore;
use crate::exit_status::ExitStatus;
use crate::output::Output;
use crate::secret::Secret;
use crate::settings::login::LoginSettings;

pub async fn run(settings: LoginSettings, context: &Context) -> anyhow::Result<ExitStatus> {
    let output = &context.output;
    if settings.sandbox {
        output.status("The sandbox logs cer in by itself; there is nothing to do.");
        return Ok(ExitStatus::Success);
    }
    if !settings.force && !replace_stored_login(context).await? {
        return Ok(ExitStatus::Success);
    }
    let oauth = context.oauth()?;
    // Where the tokens will go, checked before the browser round-trip rather than after it.
    let (store, fallback_reason) = context.stores().for_new_login().await;
    if let TokenStore::File(path) = &store {
        crate::auth::store::check_writable(path).map_err(|err| {
            crate::errors::UsageError::new(format!("cannot store tokens: {err}")).with_hint(
                "fix the folder's permissions, or set CER_CONFIG_DIR to a writable folder",
            )
        })?;
    }
    // Bound before anything is printed, so a busy port fails before the user opens the URL.
    let listener = match settings.no_browser {
        true => None,
        false => Some(RedirectListener::bind(&settings.redirect_uri).await?),
    };
    let redirect = settings.redirect_uri.as_str();
    let request = oauth.authorize(redirect, settings.recordings)?;
    // Always printed, whatever the verbosity: without it there is no way to log in.
    context.output.say(format!(
        "Open this URL in a browser to log in to GoTo:\n\n  {}\n\n",
        request.url
    ));
    let code = match listener {
        Some(listener) => {
            open_browser(&settings, context, &request.url);
            context.output.say(format!(
                "Waiting for the browser to come back to {redirect} …\n"
            ));
            listener
                .wait(request.state.clone(), settings.timeout)
                .await?
        }
        None => read_pasted(&settings, &request.state, &context.output).await?,
    };
    let credentials = oauth
        .exchange_code(&code, &request.verifier, redirect)
        .await
        .context("GoTo did not exchange the authorization code for tokens")?;
    if let (TokenStore::File(path), Some(reason)) = (&store, &fallback_reason) {
        output.status(format!(
            "Storing the tokens in {} (mode 0600), because {reason}.",
            path.display()
        ));
    }
    let store = save(store, &credentials, context).await?;
    let who = credentials.principal.as_deref().unwrap_or("your GoTo user");
    output.status(format!(
        "Logged in as {who}. Tokens stored in the {}.",
        store.describe()
    ));
    if settings.recordings {
        tell_recording_scopes(&credentials, output);
    }
    Ok(ExitStatus::Success)
}

/// Saves new tokens: a keyring that answered the probe but refuses the write (a Secret Service
/// without its default collection yet, say) costs the login nothing: the file takes them.
async fn save(
    store: TokenStore,
    credentials: &crate::auth::Credentials,
    context: &Context,
) -> anyhow::Result<TokenStore> {
    let refused = match (&store, store.save(credentials).await) {
        (_, Ok(())) => return Ok(store),
        (TokenStore::Keyring, Err(err)) => err,
        (_, Err(err)) => return Err(anyhow::Error::new(err).context("cannot store the tokens")),
    };
    let path = context.stores().file;
    context.output.warn(format!(
        "the OS keyring refused the tokens ({refused}); storing them in {} (mode 0600) instead",
        path.display()
    ));
    crate::auth::store::check_writable(&path).context("cannot store the tokens")?;
    let file = TokenStore::File(path);
    file.save(credentials)
        .await
        .context("cannot store the tokens")?;
    Ok(file)
}

/// GoTo grants only the scopes the OAuth client has: asked for the Recording API's and not
/// given them, the login works but `--archive` would not, which the person hears now.
fn tell_recording_scopes(credentials: &crate::auth::Credentials, output: &Output) {
    let access = RecordingAccess::of_scope(credentials.scope.as_deref());
    let missing: Vec<&str> = [
        (access.read, RECORDING_SCOPES[0]),
        (access.notifications, RECORDING_SCOPES[1]),
    ]
    .into_iter()
    .filter(|(granted, _)| !granted)
    .map(|(_, scope)| scope)
    .collect();
    if missing.is_empty() {
        output.status("Recordings and transcripts can be archived (--archive).");
    } else {
        output.warn(format!(
            "GoTo did not grant {}: add it to the OAuth client (developer.goto.com), then run \
             `cer login --recordings --force`",
            missing.join(" and ")
        ));
    }
}

/// When tokens are stored already: says whose, and asks a person at a terminal whether to
/// replace them; a script keeps them (`--force` replaces without asking).
async fn replace_stored_login(context: &Context) -> anyhow::Result<bool> {
    // A store that cannot be read must not stand in the way of a new login.
    let Ok(Some((store, credentials))) = context.tokens().stored_credentials().await else {
        return Ok(true);
    };
    let who = credentials.principal.as_deref().unwrap_or("a GoTo user");
    let output = &context.output;
    output.say(format!(
        "Already logged in to GoTo as {who} (tokens in the {}).\n",
        store.describe()
    ));
    if !std::io::stdin().is_terminal() {
        output.say("Kept that login; `cer login --force` replaces it.\n");
        return Ok(false);
    }
    output.say("Log in again and replace it? [y/N] ");
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .context("cannot read the answer")?
    .context("cannot read the answer")?;
    let replace = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if !replace {
        output.say("Kept that login.\n");
    }
    Ok(replace)
}

/// `$BROWSER` whenever it is set; otherwise the platform opener, but only for a person at a
/// terminal (a script or CI job has no one to look at a browser).
fn open_browser(settings: &LoginSettings, context: &Context, url: &Url) {
    let browser = settings.browser.clone();
    if browser.is_none() && !context.output.stderr_is_terminal() {
        return;
    }
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let opened = match &browser {
            Some(commands) => run_browser(commands, &url),
            None => webbrowser::open(&url),
        };
        if let Err(err) = opened {
            tracing::warn!("could not open a browser ({err}); open the URL above yourself");
        }
    });
}

/// Runs the first command of `$BROWSER` that starts, as the convention has it: commands
/// separated by `:`, `%s` replaced by the URL (else the URL is the last argument), `%c` a colon
/// and `%%` a percent sign. Waits for it, so a browser that exits at once leaves no zombie.
fn run_browser(commands: &str, url: &str) -> std::io::Result<()> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "BROWSER names no command");
    for command in commands.split(':').filter(|c| !c.trim().is_empty()) {
        let words = browser_words(command, url);
        let Some((program, args)) = words.split_first() else {
            continue;
        };
        let spawned = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                let _ = child.wait();
                return Ok(());
            }
            Err(err) => last = err,
        }
    }
    Err(last)
}

fn browser_words(command: &str, url: &str) -> Vec<String> {
    let mut has_url = false;
    let mut words: Vec<String> = command
        .split_ascii_whitespace()
        .map(|word| {
            let mut out = String::with_capacity(word.len());
            let mut chars = word.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('s') => {
                        out.push_str(url);
                        has_url = true;
                    }
                    Some('c') => out.push(':'),
                    Some('%') => out.push('%'),
                    Some(other) => out.extend(['%', other]),
                    None => out.push('%'),
                }
            }
            out
        })
        .collect();
    if !has_url {
        words.push(url.to_string());
    }
    words
}

/// `--no-browser`: the user opens the URL anywhere and pastes the address it ended on.
async fn read_pasted(
    settings: &LoginSettings,
    state: &Secret,
    output: &Output,
) -> Result<Secret, LoginError> {
    output.say(format!(
        "After logging in, the browser goes to {} (it may fail to load there).\n\
         Paste that whole address here and press Enter:\n",
        settings.redirect_uri
    ));
    let mut line = String::new();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    match tokio::time::timeout(settings.timeout, stdin.read_line(&mut line)).await {
        Err(_) => Err(LoginError::Timeout(settings.timeout.as_secs())),
        Ok(Err(err)) => Err(LoginError::NotARedirect(format!(
            "cannot read stdin: {err}"
        ))),
        Ok(Ok(0)) => Err(LoginError::NotARedirect(
            "nothing was pasted (stdin is empty)".into(),
        )),
        Ok(Ok(_)) => check_pasted(&line, state),
    }
}

#[cfg(test)]
mod tests {
    use super::browser_words;

    #[test]
    fn browser_commands_take_the_url_where_percent_s_is_else_last() {
        let url = "http://a.test/x?y=1";
        assert_eq!(browser_words("open", url), ["open", url]);
        assert_eq!(
            browser_words("firefox --new-tab=%s --x%%%c", url),
            [
                "firefox".to_string(),
                format!("--new-tab={url}"),
                "--x%:".into()
            ]
        );
    }
}
