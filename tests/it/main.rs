//! One integration-test binary: every module here runs the built `cer` or the simulator.

mod account;
mod archive;
mod browser;
mod cli;
mod delivery;
mod docs;
mod fetch;
mod hardening;
mod harness;
mod help;
mod high_availability;
mod hostile;
mod listen;
mod listen_archive;
mod listen_store;
mod login;
mod login_scopes;
// Peak memory read from the kernel as the child is reaped (glibc Linux, where `libc` is).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod memory;
mod metrics_server;
mod os_keyring;
mod postgres;
mod printed;
mod probe;
mod refetch;
mod revisions;
mod s3;
mod sandbox_api;
mod sandbox_cmd;
mod sandbox_everywhere;
mod secrets_store;
mod service;
mod show;
mod snapshot;
mod store;
mod store_health;
mod summaries;
mod summaries_glance;
mod sync;
mod sync_hardening;
mod sync_refetch;
mod targets;
mod transcript;
