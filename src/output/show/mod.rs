//! `cer show`: one call as a person reads it, built from its report alone: a headline and
//! when it happened, its parties, a timeline of its `callStates` in words, what post-call
//! analysis added, and (from the store) which revision brought which fields. Every line fits
//! the width it is given and every text from GoTo is escaped; colour only where the palette
//! allows it, so a pipe gets the same lines plain.

mod analysis;
mod facts;
mod header;
pub(crate) mod revisions;
mod timeline;
mod transcript;

use jiff::tz::TimeZone;
use serde_json::Value;

use super::Palette;
use super::text::{pad, shorten, width, wrap};
use facts::CallFacts;
pub(crate) use revisions::Revision;
pub(crate) use transcript::{ArchivedObject, CallMedia, MAX_TRANSCRIPT_BYTES, TranscriptText};

/// How to draw: the time zone of the times shown, the width, the colours.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub zone: TimeZone,
    pub columns: usize,
    pub palette: Palette,
}

/// Narrower than this and labels no longer leave room for text; such a terminal gets this.
const MIN_COLUMNS: usize = 40;

/// One candidate of an ambiguous short ID, to choose from: its whole ID, when it started and
/// who called whom.
pub(crate) fn candidate_line(id: &str, report: Option<&Value>, zone: &TimeZone) -> String {
    let id = super::escape::terminal_safe(id);
    let Some(report) = report else {
        return id.into_owned();
    };
    let facts = CallFacts::of(report);
    let started = facts.created.map_or_else(String::new, |t| {
        t.to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    });
    let parties =
        super::text::strip_styles(&header::headline(report, &facts, Palette::new(false), 80));
    format!("{id}  {started}  {parties}")
}

/// A part of the page before it is laid out.
enum Block {
    /// A blank line, then the title.
    Section(&'static str),
    /// `(label, text)` lines; every block's labels share one column.
    Lines(Vec<(String, String)>),
    /// A line drawn already (the headline).
    Drawn(String),
}

/// The whole page of one call, ending with a newline.
#[cfg(test)]
pub(crate) fn render(report: &Value, revisions: &[Revision<'_>], view: &View) -> String {
    render_with(report, revisions, &CallMedia::default(), view)
}

/// The page with what the archive (or GoTo) holds beyond the report: the archived recordings
/// named where they are, and each transcript as a conversation after the post-call analysis.
pub(crate) fn render_with(
    report: &Value,
    revisions: &[Revision<'_>],
    media: &CallMedia,
    view: &View,
) -> String {
    let columns = view.columns.max(MIN_COLUMNS);
    let palette = view.palette;
    let facts = CallFacts::of(report);
    let mut blocks = vec![
        Block::Drawn(header::headline(report, &facts, palette, columns)),
        Block::Lines(header::when_lines(report, &facts, &view.zone, palette)),
        Block::Section("Parties"),
        Block::Lines(or_note(header::party_lines(&facts), "none listed")),
        Block::Section("Timeline"),
    ];
    let (timed, untimed) = timeline_lines(report, &facts);
    if timed.is_empty() {
        blocks.push(Block::Lines(or_note(
            untimed,
            "no call states in the report",
        )));
    } else {
        blocks.push(Block::Lines(timed));
        if !untimed.is_empty() {
            // Apart, not under the timeline's times, where they would read as a wrapped line
            // or as happening at the time above them (a trimmed report keeps some states only).
            blocks.push(Block::Section(
                "Also in the report (its states do not say when)",
            ));
            blocks.push(Block::Lines(untimed));
        }
    }
    blocks.extend([
        Block::Section("Post-call analysis"),
        Block::Lines(or_note(
            analysis::analysis_lines(report, media),
            "none yet: GoTo adds the call reason, recordings and transcripts later",
        )),
    ]);
    for text in &media.transcripts {
        blocks.push(Block::Section("Transcript"));
        blocks.push(Block::Lines(transcript::transcript_lines(&facts, text)));
    }
    if !revisions.is_empty() {
        blocks.push(Block::Section("Revisions"));
        let lines = revisions::revision_lines(revisions, &view.zone);
        blocks.push(Block::Lines(
            lines.into_iter().map(|l| (String::new(), l)).collect(),
        ));
    }
    lay_out(&blocks, columns, palette)
}

/// The timeline's lines with their offsets, then the facts the states do not place in time.
fn timeline_lines(report: &Value, facts: &CallFacts) -> (Lines, Lines) {
    let (mut timed, mut untimed) = (Vec::new(), Vec::new());
    for event in timeline::events(report, facts) {
        match (event.at, facts.created) {
            (Some(at), Some(start)) => timed.push((timeline::offset(at, start), event.text)),
            _ => untimed.push((String::new(), event.text)),
        }
    }
    (timed, untimed)
}

/// Lines of a block: a label (an offset, a word) and the text beside it.
type Lines = Vec<(String, String)>;

fn or_note(lines: Vec<(String, String)>, note: &str) -> Vec<(String, String)> {
    if lines.is_empty() {
        vec![(String::new(), note.to_string())]
    } else {
        lines
    }
}

/// Labels longer than this (a GoTo field name in the analysis) widen only their own line.
const MAX_LABEL: usize = 15;

/// `  label    text`: labels in one column across the page, text wrapped under itself.
/// Labels are cer's words, offsets, or short texts from GoTo already escaped.
fn lay_out(blocks: &[Block], columns: usize, palette: Palette) -> String {
    let label_width = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Lines(lines) => lines.iter().map(|(l, _)| width(l)).max(),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .min(MAX_LABEL);
    let indent = 2 + label_width + 2;
    let mut out = Vec::new();
    for block in blocks {
        match block {
            Block::Section(title) => {
                out.push(String::new());
                // A long title wraps like any text rather than overflow a narrow terminal.
                for part in wrap(title, columns) {
                    out.push(palette.bold(&part).to_string());
                }
            }
            Block::Drawn(line) => out.push(line.clone()),
            Block::Lines(lines) => {
                // A block without any label (a note, the revisions) starts at the margin.
                let labels = lines.iter().any(|(l, _)| !l.is_empty());
                for (label, text) in lines {
                    let label = shorten(label, MAX_LABEL);
                    let (first, here) = if labels {
                        let first = format!("  {}  ", palette.dim(&pad(&label, label_width)));
                        (first, indent.max(2 + width(&label) + 2))
                    } else {
                        ("  ".to_string(), 4)
                    };
                    for (k, part) in wrap(text, columns.saturating_sub(here))
                        .into_iter()
                        .enumerate()
                    {
                        let lead = if k == 0 {
                            first.clone()
                        } else {
                            " ".repeat(here)
                        };
                        out.push(format!("{lead}{part}").trim_end().to_string());
                    }
                }
            }
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod real_tests;
#[cfg(test)]
mod tests;
