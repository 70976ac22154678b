//! One integration-test binary: every module here runs the built `cer` or the simulator.

mod browser;
mod cli;
mod engine;
mod fetch;
mod hardening;
mod harness;
mod hostile;
mod listen;
mod login;
mod proxy;
mod sandbox_api;
mod sandbox_cmd;
mod summaries;
