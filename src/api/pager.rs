//! The one way cer walks report-summaries pages (`summaries` and listen's backfill): it follows
//! `nextPageMarker` and stops with an error on any marker seen before, because a server whose
//! markers cycle (A, B, A, B…) would otherwise page forever and print every row again.
//!
//! Page size: GoTo documents only a default (100). cer asks for [`PREFERRED_PAGE_SIZE`] to
//! need ten times fewer requests, and if GoTo answers a first page with 400, asks once more
//! without `pageSize` and leaves it out for the rest of the run: a lower cap on GoTo's side
//! then costs one request, not every backfill. A size the user asked for is sent as asked and
//! its 400 reported, since that is the user's choice to fix.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use super::client::ApiClient;
use super::reports::{SummaryPage, SummaryQuery, summaries_page};
use crate::net::ApiError;

/// The page size cer asks for when the user did not choose one (GoTo's known maximum).
pub const PREFERRED_PAGE_SIZE: u32 = 1000;

/// Set once GoTo refused [`PREFERRED_PAGE_SIZE`]: from then on no `pageSize` is sent.
static PREFERRED_REFUSED: AtomicBool = AtomicBool::new(false);

/// The pages of one summaries query, first to last.
pub struct Pager<'a> {
    client: &'a ApiClient,
    query: SummaryQuery,
    /// Whether the user chose the page size (then it is never dropped).
    asked: bool,
    marker: Option<String>,
    seen: HashSet<String>,
    finished: bool,
}

impl<'a> Pager<'a> {
    /// Pages of `query`; its `page_size` is the user's choice, `None` when they made none.
    pub fn new(client: &'a ApiClient, query: &SummaryQuery) -> Self {
        let asked = query.page_size.is_some();
        let mut query = query.clone();
        if !asked && !PREFERRED_REFUSED.load(Ordering::Relaxed) {
            query.page_size = Some(PREFERRED_PAGE_SIZE);
        }
        Self {
            client,
            query,
            asked,
            marker: None,
            seen: HashSet::new(),
            finished: false,
        }
    }

    /// The next page, or `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<SummaryPage>, ApiError> {
        if self.finished {
            return Ok(None);
        }
        let page = match self.fetch().await {
            Err(ApiError::Rejected { status: 400, .. })
                if self.marker.is_none() && !self.asked && self.query.page_size.is_some() =>
            {
                tracing::info!(
                    "GoTo refused pageSize={PREFERRED_PAGE_SIZE}; using its default page size"
                );
                PREFERRED_REFUSED.store(true, Ordering::Relaxed);
                self.query.page_size = None;
                self.fetch().await?
            }
            other => other?,
        };
        match &page.next_page_marker {
            None => self.finished = true,
            Some(next) if !self.seen.insert(next.clone()) => {
                self.finished = true;
                return Err(ApiError::InvalidBody(format!(
                    "GoTo sent the page marker {:?} a second time; stopping rather than listing the same calls again",
                    crate::escape::terminal_safe(next)
                )));
            }
            Some(next) => self.marker = Some(next.clone()),
        }
        Ok(Some(page))
    }

    async fn fetch(&self) -> Result<SummaryPage, ApiError> {
        summaries_page(self.client, &self.query, self.marker.as_deref()).await
    }
}
