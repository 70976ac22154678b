//! cer: a command-line client for GoTo Connect Call Events Reports, and its GoTo simulator.

pub mod sandbox;
