//! Placeholder for the simulator while it is written on its own branch.
#![allow(missing_docs, dead_code, unused_variables)]

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub port: u16,
    pub seed: u64,
    pub call_every: Option<Duration>,
    pub token_lifetime: Duration,
    pub channel_lifetime: Duration,
    pub report_delay: Duration,
    pub to_be_closed_grace: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            port: 0,
            seed: 1,
            call_every: Some(Duration::from_secs(10)),
            token_lifetime: Duration::from_secs(3600),
            channel_lifetime: Duration::from_secs(1200),
            report_delay: Duration::ZERO,
            to_be_closed_grace: Duration::from_secs(2),
        }
    }
}

pub struct Sandbox;

impl Sandbox {
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Err(std::io::Error::other("not built yet"))
    }
    pub fn base_url(&self) -> String {
        String::new()
    }
    pub fn client_id(&self) -> &str {
        ""
    }
    pub fn client_secret(&self) -> &str {
        ""
    }
    pub fn account_key(&self) -> &str {
        ""
    }
}
