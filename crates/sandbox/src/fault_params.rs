//! The one parser of fault names and `key=value` parameters, shared by the control endpoint and
//! the CLI so `POST /_sandbox/faults/fail-next?count=3&status=503` and a `--fault` flag agree.

use std::time::Duration;

use super::faults::{FaultError, Faults};

/// Reads and checks the parameters one fault accepts.
struct Params<'a> {
    fault: &'a str,
    pairs: &'a [(String, String)],
}

impl Params<'_> {
    fn check_known(&self, allowed: &[&str]) -> Result<(), FaultError> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            Some((k, _)) => Err(FaultError::UnknownParam {
                fault: self.fault.to_string(),
                param: k.clone(),
            }),
            None => Ok(()),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn bad(name: &str, value: &str, why: &'static str) -> FaultError {
        FaultError::BadValue {
            param: name.to_string(),
            value: value.to_string(),
            why,
        }
    }

    fn count(&self) -> Result<u32, FaultError> {
        match self.get("count") {
            None => Ok(1),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Self::bad("count", v, "a positive integer")),
        }
    }

    fn seconds(&self, name: &str, default: f64) -> Result<Duration, FaultError> {
        let Some(v) = self.get(name) else {
            return Ok(Duration::from_secs_f64(default));
        };
        v.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (0.0..=31_536_000.0).contains(s))
            .map(Duration::from_secs_f64)
            .ok_or_else(|| Self::bad(name, v, "a number of seconds"))
    }

    fn status(&self) -> Result<u16, FaultError> {
        match self.get("status") {
            None => Ok(503),
            Some(v) => v
                .parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| Self::bad("status", v, "an HTTP status 100..=599")),
        }
    }

    fn number(&self, name: &str, default: u64) -> Result<u64, FaultError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .ok_or_else(|| Self::bad(name, v, "a whole number")),
        }
    }

    fn path(&self) -> Result<Option<String>, FaultError> {
        match self.get("path") {
            None => Ok(None),
            Some(p) if p.starts_with('/') => Ok(Some(p.to_string())),
            Some(p) => Err(Self::bad("path", p, "a path prefix starting with /")),
        }
    }
}

impl Faults {
    /// Triggers a fault by name (see [`super::faults::FAULTS`]) with `key=value` parameters.
    /// Returns a one-line description of what was done.
    pub fn apply(&self, name: &str, params: &[(String, String)]) -> Result<String, FaultError> {
        let p = Params {
            fault: name,
            pairs: params,
        };
        let request_rule = ["count", "path"];
        match name {
            "report-not-ready" => {
                p.check_known(&["seconds"])?;
                let d = p.seconds("seconds", 10.0)?;
                self.report_not_ready_for(d);
                Ok(format!(
                    "reports answer 404 until {}s after the call ends",
                    d.as_secs_f64()
                ))
            }
            "rate-limit-next" => {
                p.check_known(&["count", "path", "retry_after"])?;
                let (n, retry) = (p.count()?, p.seconds("retry_after", 1.0)?);
                match p.path()? {
                    Some(prefix) => self.rate_limit_next_on(&prefix, n, retry),
                    None => self.rate_limit_next(n, retry),
                }
                Ok(format!("next {n} request(s) answer 429"))
            }
            "fail-next" => {
                p.check_known(&["count", "path", "status"])?;
                let (n, status) = (p.count()?, p.status()?);
                match p.path()? {
                    Some(prefix) => self.fail_next_on(&prefix, n, status),
                    None => self.fail_next(n, status),
                }
                Ok(format!("next {n} request(s) answer {status}"))
            }
            "garbage-next" | "truncated-next" => {
                p.check_known(&request_rule)?;
                let (n, prefix, garbage) = (p.count()?, p.path()?, name == "garbage-next");
                match (prefix, garbage) {
                    (Some(pre), true) => self.garbage_next_on(&pre, n),
                    (None, true) => self.garbage_next(n),
                    (Some(pre), false) => self.truncated_next_on(&pre, n),
                    (None, false) => self.truncated_next(n),
                }
                Ok(format!(
                    "next {n} request(s) answer 200 with a {} body",
                    if garbage { "non-JSON" } else { "truncated" }
                ))
            }
            "stall-websockets" => {
                p.check_known(&["seconds"])?;
                let d = p.seconds("seconds", 40.0)?;
                self.stall_websockets(d);
                Ok(format!("sockets stalled for {}s", d.as_secs_f64()))
            }
            _ => match self.apply_media(name, &p) {
                Some(done) => done,
                None => self.apply_simple(name, &p),
            },
        }
    }

    /// The Recording API's faults; `None` for another name.
    fn apply_media(&self, name: &str, p: &Params<'_>) -> Option<Result<String, FaultError>> {
        let done = match name {
            "recording-not-ready" => p.check_known(&["seconds"]).and_then(|()| {
                let d = p.seconds("seconds", 10.0)?;
                self.recording_not_ready_for(d);
                Ok(format!(
                    "recording content answers 400 until {}s after its upload",
                    d.as_secs_f64()
                ))
            }),
            "download-expired" => p.check_known(&["count", "at"]).and_then(|()| {
                let n = p.count()?;
                match p.get("at").unwrap_or("content") {
                    "content" => self.expire_next_download_tokens(n),
                    "storage" => self.expire_next_storage_urls(n),
                    other => return Err(Params::bad("at", other, "content or storage")),
                }
                Ok(format!("next {n} download(s) find their token expired"))
            }),
            "recording-gone" => p.check_known(&["id"]).and_then(|()| {
                let id = p.get("id").filter(|id| *id != "ALL");
                if !self.recording_gone(id) {
                    return Err(Params::bad(
                        "id",
                        id.unwrap_or(""),
                        "a recording or transcript id",
                    ));
                }
                Ok(format!("{} answers 404", id.unwrap_or("every recording")))
            }),
            "slow-download" => p.check_known(&["bytes_per_second"]).and_then(|()| {
                let rate = p.number("bytes_per_second", 8_000)?;
                self.slow_downloads(Some(rate));
                Ok(format!("downloads trickle at {rate} bytes/s"))
            }),
            "cut-download" => p.check_known(&["after", "count"]).and_then(|()| {
                let (after, n) = (p.number("after", 1_000)?, p.count()?);
                self.cut_next_downloads(after, n);
                Ok(format!("next {n} download(s) cut after {after} bytes"))
            }),
            _ => return None,
        };
        Some(done)
    }

    /// The faults that take no parameters.
    fn apply_simple(&self, name: &str, p: &Params<'_>) -> Result<String, FaultError> {
        let action: fn(&Faults) = match name {
            "drop-websockets" => Faults::drop_websockets,
            "refresh-required" => Faults::send_refresh_required,
            "to-be-closed" => Faults::send_to_be_closed,
            "expire-channels" => Faults::expire_channels,
            "delete-subscriptions" => Faults::delete_subscriptions,
            "expire-tokens" => Faults::expire_tokens,
            "revoke-tokens" => Faults::revoke_tokens,
            "malformed-frame" => Faults::send_malformed_frame,
            "deny-next-authorize" => Faults::deny_next_authorize,
            "clear" => Faults::clear,
            _ => return Err(FaultError::UnknownFault(name.to_string())),
        };
        p.check_known(&[])?;
        action(self);
        Ok(format!("{name} done"))
    }
}
