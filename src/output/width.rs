//! How wide the terminal is: `COLUMNS` when set (as `ls` and most CLIs honour it, and how tests
//! fake a terminal), else what the terminal says (`terminal_size`, a small maintained crate that
//! asks the OS for stdout's window size), else 80.

/// Columns of the terminal stdout writes to.
pub fn terminal_width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    from_env
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stdout())
                .map(|(terminal_size::Width(w), _)| usize::from(w))
        })
        .filter(|&n| n > 0)
        .unwrap_or(80)
}
