//! The line under a call line on a terminal that says how its delivery to a `--forward-to`
//! target went, the way `stripe listen` shows it: `  → 200 http://127.0.0.1:3000/hook (12 ms)`.

use std::time::Duration;

use super::Palette;
use super::escape::terminal_safe;
use crate::listen::DeliveryResult;

/// One delivery attempt's line.
pub fn delivery_line(target: &str, result: &DeliveryResult, palette: Palette) -> String {
    let target = terminal_safe(target);
    match result {
        DeliveryResult::Delivered { status, elapsed } => {
            let status = status.to_string();
            format!(
                "  → {} {target} ({})",
                palette.green(&status),
                millis(*elapsed)
            )
        }
        DeliveryResult::WillRetry {
            error,
            elapsed,
            next_in,
        } => format!(
            "  → {} {target} ({}); next try in {:.1?}",
            palette.yellow(&terminal_safe(error)),
            millis(*elapsed),
            next_in
        ),
        DeliveryResult::Failed { error } => format!(
            "  → {} {target}: {}; gave up (see cer deliveries --failed)",
            palette.red("failed"),
            terminal_safe(error)
        ),
    }
}

/// A delivery line cut to `columns` so it never wraps on a terminal (a long target or error
/// text ends in `…`); colour codes do not count.
pub fn fit_delivery_line(line: &str, columns: usize) -> String {
    super::text::cut_styled(line, columns)
}

fn millis(elapsed: Duration) -> String {
    format!("{} ms", elapsed.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_status_target_and_time() {
        let plain = Palette::new(false);
        let ok = DeliveryResult::Delivered {
            status: 200,
            elapsed: Duration::from_millis(12),
        };
        assert_eq!(
            delivery_line("http://127.0.0.1:3000/hook", &ok, plain),
            "  → 200 http://127.0.0.1:3000/hook (12 ms)"
        );
        let retry = DeliveryResult::WillRetry {
            error: "answered 500".into(),
            elapsed: Duration::from_millis(3),
            next_in: Duration::from_millis(1500),
        };
        assert_eq!(
            delivery_line("http://h/x", &retry, plain),
            "  → answered 500 http://h/x (3 ms); next try in 1.5s"
        );
        let failed = DeliveryResult::Failed {
            error: "connection failed\u{1b}[2J".into(),
        };
        let line = delivery_line("http://h/x", &failed, plain);
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }

    #[test]
    fn a_fitted_line_never_wraps_from_60_to_200_columns() {
        let target = format!("http://127.0.0.1:3000/{}", "hook/".repeat(40));
        let results = [
            DeliveryResult::Delivered {
                status: 200,
                elapsed: Duration::from_millis(12),
            },
            DeliveryResult::WillRetry {
                error: "connection refused ".repeat(5),
                elapsed: Duration::from_millis(3),
                next_in: Duration::from_millis(1500),
            },
            DeliveryResult::Failed {
                error: "timed out".into(),
            },
        ];
        for columns in 60..=200 {
            for result in &results {
                let line = delivery_line(&target, result, Palette::new(true));
                let fitted = fit_delivery_line(&line, columns);
                let shown = crate::output::text::strip_styles(&fitted);
                assert!(
                    crate::output::text::width(&shown) <= columns,
                    "{columns}: {shown}"
                );
                assert!(shown.starts_with("  → "), "{shown}");
            }
        }
        let short = delivery_line("http://h/x", &results[0], Palette::new(false));
        assert_eq!(fit_delivery_line(&short, 60), short);
    }
}
