//! One integration-test binary: every module here runs the built `cer` or the simulator.

mod account;
mod browser;
mod cli;
mod engine;
mod fetch;
mod harness;
mod help;
mod listen;
mod login;
mod proxy;
mod sandbox_api;
mod sandbox_cmd;
mod summaries;
