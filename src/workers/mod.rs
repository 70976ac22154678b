//! Work a listener does beside its engine: delivery to each `--forward-to` target, the
//! re-fetches, the recordings archive. All three run on the one lease loop over the store
//! ([`lease_loop`]), so several listeners on one store share the work without doing anything
//! twice.

pub mod archive;
pub mod delivery;
pub mod lease_loop;
pub mod media;
pub mod refetch;
