//! One integration-test binary: every module here runs the built `cer` or the simulator.

mod account;
mod browser;
mod cli;
mod delivery;
mod engine;
mod fetch;
mod hardening;
mod harness;
mod help;
mod high_availability;
mod hostile;
mod listen;
mod listen_store;
mod login;
mod postgres;
mod proxy;
mod refetch;
mod revisions;
mod sandbox_api;
mod sandbox_cmd;
mod service;
mod show;
mod store;
mod summaries;
mod summaries_glance;
mod sync;
