//! A hostile GoTo: a tiny axum server each test fills with the misbehaviour it needs (endless
//! bodies, cycling page markers, reports about other calls), and `cer` pointed at it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use axum::Router;

use crate::harness::TestEnv;

/// A running hostile server and how many requests it has answered.
pub struct Hostile {
    pub base: String,
    hits: Arc<AtomicUsize>,
}

impl Hostile {
    /// Serves `router` on 127.0.0.1:0 on the test's runtime, counting requests.
    pub fn serve(env: &TestEnv, router: Router) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let router = router.layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                counter.fetch_add(1, Ordering::SeqCst);
                next.run(request)
            },
        ));
        let listener = env
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port for the hostile server");
        let base = format!("http://{}", listener.local_addr().unwrap());
        env.spawn(async move { axum::serve(listener, router).await });
        Self { base, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// `cer` with a token, talking to this server for both the API and OAuth.
    pub fn cer(&self, env: &TestEnv) -> Command {
        let mut command = env.cer_with_token();
        command
            .env("CER_API_BASE", &self.base)
            .env("CER_AUTH_BASE", &self.base);
        command
    }
}
