//! `cer sandbox`: runs the GoTo simulator until Ctrl-C and prints, on stdout, the `export`
//! lines that point cer (or curl, following GoTo's guide) at it.

use std::time::Duration;

use anyhow::Context as _;
use cer_sandbox::{DayShape, FAULTS, Faults, Sandbox};

use super::signals::StopSignals;
use crate::errors::UsageError;
use crate::exit_status::ExitStatus;
use crate::output::Output;
use crate::settings::sandbox::{FaultSpec, SandboxSettings};

/// CER_TOKEN must outlive any session: a century is "while it runs".
const EXPORTED_TOKEN_LIFETIME: Duration = Duration::from_secs(100 * 365 * 86_400);

pub async fn run(settings: SandboxSettings, output: &Output) -> anyhow::Result<ExitStatus> {
    if settings.list_faults {
        list_faults(output)?;
        return Ok(ExitStatus::Success);
    }
    let mut signals = StopSignals::register()?;
    let sandbox = Sandbox::start(settings.config.clone())
        .await
        .with_context(|| {
            format!(
                "cannot start the sandbox on 127.0.0.1:{}",
                settings.config.port
            )
        })?;
    for fault in &settings.faults_at_start {
        apply(&sandbox.faults(), fault)
            .map_err(|e| UsageError::new(format!("--fault {}: {e}", fault.name)))?;
    }
    output.data(exports(&sandbox).as_bytes())?;
    describe(&sandbox, &settings, output);
    for (period, fault) in settings.faults_every.clone() {
        tokio::spawn(repeat_fault(
            sandbox.faults(),
            period,
            fault,
            output.clone(),
        ));
    }
    signals.either().await;
    output.status("Sandbox stopped.");
    sandbox.shutdown().await;
    Ok(ExitStatus::Success)
}

fn exports(sandbox: &Sandbox) -> String {
    let base = sandbox.base_url();
    let token = sandbox.issue_token(Some(EXPORTED_TOKEN_LIFETIME));
    format!(
        "export CER_API_BASE={base}\n\
         export CER_AUTH_BASE={base}\n\
         export OAUTH_CLIENT_ID={}\n\
         export OAUTH_CLIENT_SECRET={}\n\
         export ACCOUNT_KEY={}\n\
         export CER_TOKEN={token}\n",
        sandbox.client_id(),
        sandbox.client_secret(),
        sandbox.account_key(),
    )
}

fn describe(sandbox: &Sandbox, settings: &SandboxSettings, output: &Output) {
    let calls = match (settings.config.call_every, &settings.config.day) {
        (Some(every), DayShape::Flat) => format!("a call every {:.1} s", every.as_secs_f64()),
        (Some(every), DayShape::Business(_)) => format!(
            "a business day: a call every {:.1} s at the busiest hour, every {:.0} s at night",
            every.as_secs_f64(),
            every.as_secs_f64() * 5.0
        ),
        (None, _) => "no scheduled calls".to_string(),
    };
    output.status(format!(
        "GoTo sandbox on {} (seed {}, {calls}). Paste the lines above into a shell; Ctrl-C stops it.\n\
         Place a call:    curl -X POST $CER_API_BASE/_sandbox/calls\n\
         Analyse a call:  curl -X POST $CER_API_BASE/_sandbox/reports/ID/analysis   (callReason, aiAnalysis now)\n\
         Cause a fault:   curl -X POST $CER_API_BASE/_sandbox/faults/drop-websockets   (cer sandbox --list-faults)",
        sandbox.base_url(),
        settings.config.seed,
    ));
}

fn list_faults(output: &Output) -> anyhow::Result<()> {
    let mut text = String::new();
    for fault in FAULTS {
        let params = if fault.params.is_empty() {
            String::new()
        } else {
            format!(" [{}]", fault.params)
        };
        text.push_str(&format!("{:<22} {}{params}\n", fault.name, fault.summary));
    }
    output.data(text.as_bytes())?;
    Ok(())
}

fn apply(faults: &Faults, fault: &FaultSpec) -> Result<String, cer_sandbox::FaultError> {
    faults.apply(&fault.name, &fault.params)
}

async fn repeat_fault(faults: Faults, period: Duration, fault: FaultSpec, output: Output) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticks.tick().await;
        match apply(&faults, &fault) {
            Ok(done) => tracing::info!("fault {}: {done}", fault.name),
            Err(err) => {
                output.warn(format!("--fault-every {}: {err}", fault.name));
                return;
            }
        }
    }
}
