//! The line under a call line on a terminal that says how its delivery to a `--forward-to`
//! target went, the way `stripe listen` shows it: `  → 200 http://127.0.0.1:3000/hook (12 ms)`.

use std::time::Duration;

use super::Palette;
use super::escape::terminal_safe;
use crate::events::DeliveryResult;

/// One delivery attempt's line. A delivery of a later revision comes long after its call's line,
/// so it says which call and revision it carries (`  → 4d9c1a7e revision 2: 200 …`).
pub fn delivery_line(
    target: &str,
    result: &DeliveryResult,
    revision_of: Option<(&str, i64)>,
    palette: Palette,
) -> String {
    let lead = match revision_of {
        Some((id, revision)) if revision > 1 => {
            let short: String = terminal_safe(id).chars().take(8).collect();
            format!("  → {short} revision {revision}: ")
        }
        _ => "  → ".to_string(),
    };
    attempt(&lead, target, result, palette)
}

fn attempt(lead: &str, target: &str, result: &DeliveryResult, palette: Palette) -> String {
    let target = terminal_safe(target);
    match result {
        DeliveryResult::Delivered { status, elapsed } => {
            let status = status.to_string();
            format!(
                "{lead}{} {target} ({})",
                palette.green(&status),
                millis(*elapsed)
            )
        }
        DeliveryResult::WillRetry {
            error,
            elapsed,
            next_in,
        } => format!(
            "{lead}{} {target} ({}); next try in {:.1?}",
            palette.yellow(&terminal_safe(error)),
            millis(*elapsed),
            next_in
        ),
        DeliveryResult::Failed { error } => format!(
            "{lead}{} {target}: {}; gave up (see cer deliveries --failed)",
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
            delivery_line("http://127.0.0.1:3000/hook", &ok, None, plain),
            "  → 200 http://127.0.0.1:3000/hook (12 ms)"
        );
        let retry = DeliveryResult::WillRetry {
            error: "answered 500".into(),
            elapsed: Duration::from_millis(3),
            next_in: Duration::from_millis(1500),
        };
        assert_eq!(
            delivery_line("http://h/x", &retry, None, plain),
            "  → answered 500 http://h/x (3 ms); next try in 1.5s"
        );
        let failed = DeliveryResult::Failed {
            error: "connection failed\u{1b}[2J".into(),
        };
        let line = delivery_line("http://h/x", &failed, None, plain);
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }

    /// Regression: a revision's delivery came as a bare `→ 200 target` line long after its
    /// call's line, naming neither the call nor the revision.
    #[test]
    fn a_later_revision_names_its_call_and_number_and_revision_1_does_not() {
        let plain = Palette::new(false);
        let ok = DeliveryResult::Delivered {
            status: 200,
            elapsed: Duration::from_millis(7),
        };
        let id = "4d9c1a7e-be3a-31d5-a956-777109126542";
        assert_eq!(
            delivery_line("http://h/x", &ok, Some((id, 2)), plain),
            "  → 4d9c1a7e revision 2: 200 http://h/x (7 ms)"
        );
        assert_eq!(
            delivery_line("http://h/x", &ok, Some((id, 1)), plain),
            "  → 200 http://h/x (7 ms)"
        );
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
                let line = delivery_line(
                    &target,
                    result,
                    Some(("4d9c1a7e-0000", 2)),
                    Palette::new(true),
                );
                let fitted = fit_delivery_line(&line, columns);
                let shown = crate::output::text::strip_styles(&fitted);
                assert!(
                    crate::output::text::width(&shown) <= columns,
                    "{columns}: {shown}"
                );
                assert!(shown.starts_with("  → "), "{shown}");
            }
        }
        let short = delivery_line("http://h/x", &results[0], None, Palette::new(false));
        assert_eq!(fit_delivery_line(&short, 60), short);
    }
}
