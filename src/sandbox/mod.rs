//! A local, deterministic stand-in for GoTo (placeholder until the simulator lands).
