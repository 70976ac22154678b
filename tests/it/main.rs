//! One integration-test binary: every module here runs the built `cer` or the simulator.
mod sandbox_api;
