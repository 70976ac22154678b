//! `cer sandbox`'s settings: the simulator's configuration and the faults to inject, checked
//! before the simulator starts.

use std::time::Duration;

use cer_sandbox::{DayShape, SandboxConfig, fault_names};

use crate::cli::SandboxArgs;
use crate::errors::UsageError;

/// A fault named on the command line, with its `key=value` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    pub name: String,
    pub params: Vec<(String, String)>,
}

/// `cer sandbox`'s configuration and fault plan.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    pub config: SandboxConfig,
    pub list_faults: bool,
    pub faults_at_start: Vec<FaultSpec>,
    pub faults_every: Vec<(Duration, FaultSpec)>,
}

impl SandboxSettings {
    pub fn resolve(args: &SandboxArgs) -> Result<Self, UsageError> {
        let defaults = SandboxConfig::demo();
        let (day, default_every) = if args.flat {
            (DayShape::Flat, SandboxConfig::default().call_every)
        } else {
            (defaults.day.clone(), defaults.call_every)
        };
        let call_every = match args.call_every {
            None => default_every,
            Some(0.0) => None,
            Some(secs) if secs.is_finite() && secs >= 0.1 => Some(Duration::from_secs_f64(secs)),
            Some(secs) => {
                return Err(UsageError::new(format!(
                    "--call-every {secs} must be 0 (no scheduled calls) or at least 0.1 seconds"
                )));
            }
        };
        let seconds =
            |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_secs);
        let config = SandboxConfig {
            port: args.port,
            seed: args.seed.unwrap_or(defaults.seed),
            call_every,
            token_lifetime: seconds(args.token_lifetime, defaults.token_lifetime),
            channel_lifetime: seconds(args.channel_lifetime, defaults.channel_lifetime),
            report_delay: seconds(args.report_delay, defaults.report_delay),
            analysis_delay: analysis_delay(
                args.analysis_delay.as_deref(),
                defaults.analysis_delay,
            )?,
            day,
            ..defaults
        };
        Ok(Self {
            config,
            list_faults: args.list_faults,
            faults_at_start: args
                .fault
                .iter()
                .map(|f| fault_spec(f))
                .collect::<Result<_, _>>()?,
            faults_every: args
                .fault_every
                .iter()
                .map(|f| periodic_fault(f))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// `--analysis-delay SECS|off` (`None` for off), or `default` when not given.
fn analysis_delay(
    text: Option<&str>,
    default: Option<Duration>,
) -> Result<Option<Duration>, UsageError> {
    let Some(text) = text else {
        return Ok(default);
    };
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
        .map(|s| Some(Duration::from_secs_f64(s)))
        .ok_or_else(|| {
            UsageError::new(format!(
                "--analysis-delay {text:?} must be a number of seconds from 0 to 86400, or off"
            ))
        })
}

/// `NAME` or `NAME?key=value&key=value`, the syntax of the control route.
fn fault_spec(text: &str) -> Result<FaultSpec, UsageError> {
    let (name, query) = text.split_once('?').unwrap_or((text, ""));
    if !fault_names().contains(&name) {
        return Err(
            UsageError::new(format!("{name:?} is not a fault the sandbox knows"))
                .with_hint("`cer sandbox --list-faults` lists them"),
        );
    }
    Ok(FaultSpec {
        name: name.to_string(),
        params: url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    })
}

/// `SECS:NAME[?params]`.
fn periodic_fault(text: &str) -> Result<(Duration, FaultSpec), UsageError> {
    let bad = || {
        UsageError::new(format!("--fault-every {text:?} is not SECS:FAULT"))
            .with_hint("for example 30:drop-websockets")
    };
    let (secs, fault) = text.split_once(':').ok_or_else(bad)?;
    let secs: f64 = secs.parse().map_err(|_| bad())?;
    if !(secs.is_finite() && secs >= 0.1) {
        return Err(bad());
    }
    Ok((Duration::from_secs_f64(secs), fault_spec(fault)?))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn sandbox(argv: &[&str]) -> Result<SandboxSettings, UsageError> {
        let mut full = vec!["cer", "sandbox"];
        full.extend_from_slice(argv);
        let cli = Cli::try_parse_from(full).unwrap();
        let Command::Sandbox(args) = cli.command else {
            unreachable!()
        };
        SandboxSettings::resolve(&args)
    }

    #[test]
    fn analysis_delay_takes_seconds_zero_or_off() {
        let delay = |argv: &[&str]| sandbox(argv).map(|s| s.config.analysis_delay);
        assert_eq!(
            delay(&[]).unwrap(),
            Some(cer_sandbox::DEFAULT_ANALYSIS_DELAY)
        );
        assert_eq!(
            delay(&["--analysis-delay", "2.5"]).unwrap(),
            Some(Duration::from_millis(2_500))
        );
        assert_eq!(
            delay(&["--analysis-delay", "0"]).unwrap(),
            Some(Duration::ZERO)
        );
        assert_eq!(delay(&["--analysis-delay", "off"]).unwrap(), None);
        for bad in ["-1", "soon", "inf", "100000"] {
            let flag = format!("--analysis-delay={bad}");
            assert!(delay(&[flag.as_str()]).is_err(), "{bad}");
        }
    }
}
