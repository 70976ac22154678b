//! Work a listener does beside its engine: delivery to each `--forward-to` target, the
//! re-fetches, the recordings archive. All three run on the one lease loop over the store
//! ([`lease_loop`]), so several listeners on one store share the work without doing anything
//! twice. The archive's downloads and writes run on a low-priority thread of their own
//! ([`background`]), at a pace ([`pace`]), so that they hold up live reports as little as the
//! machine allows.

pub mod archive;
pub mod background;
pub mod delivery;
pub mod lease_loop;
pub mod media;
mod pace;
pub mod refetch;
