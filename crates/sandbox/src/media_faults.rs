//! The Recording API's faults on the [`Faults`] handle: content not uploaded yet, download
//! tokens and storage URLs that have expired, recordings GoTo no longer has, slow and cut
//! downloads. They last until `clear` (the counted ones until spent).

use std::time::Duration;

use super::faults::Faults;
use super::rng::parse_uuid;

impl Faults {
    /// From now on, a recording's content answers 400 (not uploaded) until `d` after its upload.
    pub fn recording_not_ready_for(&self, d: Duration) {
        self.shared.lock().media.faults.not_ready_ms =
            i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    }

    /// The next `n` `…/content/{token}` requests find their download token expired (403).
    pub fn expire_next_download_tokens(&self, n: u32) {
        self.shared.lock().media.faults.expired_tokens = n;
    }

    /// The next `n` downloads from the storage host find their signed URL expired (403).
    pub fn expire_next_storage_urls(&self, n: u32) {
        self.shared.lock().media.faults.expired_urls = n;
    }

    /// A recording or transcript (by id; `None`: every one) answers 404 from now on, as one GoTo
    /// no longer keeps. Returns false for an id that is not a UUID.
    pub fn recording_gone(&self, id: Option<&str>) -> bool {
        let mut inner = self.shared.lock();
        match id {
            None => inner.media.faults.all_gone = true,
            Some(id) => match parse_uuid(id) {
                Some(v) => {
                    inner.media.faults.gone.insert(v);
                }
                None => return false,
            },
        }
        true
    }

    /// From now on, downloads from the storage host trickle at `bytes_per_second` (`None`: full
    /// speed).
    pub fn slow_downloads(&self, bytes_per_second: Option<u64>) {
        self.shared.lock().media.faults.bytes_per_second = bytes_per_second.map(|b| b.max(1));
    }

    /// The next `n` downloads from the storage host drop the connection after `after` bytes.
    pub fn cut_next_downloads(&self, after: u64, n: u32) {
        self.shared.lock().media.faults.cut = (n > 0).then_some((after, n));
    }

    /// Cancels the media faults.
    pub(crate) fn clear_media(&self) {
        self.shared.lock().media.faults = Default::default();
    }
}
