//! Work a listener does beside its engine, each on a leased claim loop over the store, so
//! several listeners on one store share it without doing anything twice.

pub mod archive;
pub mod media;
