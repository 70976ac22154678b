//! The GoTo simulator driven from outside, exactly like the curl commands of GoTo's guide:
//! plain reqwest and tokio-tungstenite against a sandbox started in-process on a free port.

mod control;
mod faults;
mod oauth;
mod paging;
mod params;
mod recording_events;
mod recording_faults;
mod recordings;
mod rest;
mod support;
mod websocket;
