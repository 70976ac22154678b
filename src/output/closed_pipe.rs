//! `cer listen | head -1`: once the reader of stdout is gone, cer should stop now, not when the
//! next report (maybe hours away) fails to write. The OS flags a pipe whose reader closed as
//! an error on its write end; this waits for that flag without writing anything.

/// Resolves once stdout is a pipe whose reader has gone; never, where that cannot be known
/// (a file, a terminal, a platform without the check).
pub async fn stdout_closed() {
    #[cfg(unix)]
    {
        use tokio::io::Interest;
        use tokio::io::unix::AsyncFd;
        // SAFETY: fd 1 stays open and names the same pipe for the whole process: cer never
        // closes or replaces its stdout, and the registration drops before the process ends.
        let registered =
            unsafe { AsyncFd::register_with_interest(std::io::stdout(), Interest::ERROR) };
        if let Ok(stdout) = registered
            && stdout.ready(Interest::ERROR).await.is_ok()
        {
            return;
        }
    }
    std::future::pending::<()>().await;
}
