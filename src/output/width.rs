//! How wide the terminal is: `COLUMNS` when set (as `ls` and most CLIs honour it, and how tests
//! fake a terminal; read by `settings`), else what the terminal says (`terminal_size`, a small maintained crate that
//! asks the OS for stdout's window size), else 80.

/// Columns of the terminal stdout writes to; `columns` is the `COLUMNS` setting.
pub fn terminal_width(columns: Option<usize>) -> usize {
    columns
        .filter(|&n| n > 0)
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stdout())
                .map(|(terminal_size::Width(w), _)| usize::from(w))
        })
        .filter(|&n| n > 0)
        .unwrap_or(80)
}
