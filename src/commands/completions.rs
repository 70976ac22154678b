//! `cer completions SHELL`: the completion script, generated from the same clap definition
//! as `--help`, so the two never disagree; hidden flags stay out, and flags whose values are
//! free text but have usual words (`--day today`) complete those words.

use clap::builder::PossibleValuesParser;

use crate::exit_status::ExitStatus;
use crate::outcome::GOTO_CALLER_OUTCOMES;
use crate::output::Output;

pub fn run(shell: clap_complete::Shell, output: &Output) -> anyhow::Result<ExitStatus> {
    let mut script = Vec::new();
    let mut command = for_completion(crate::cli::command());
    clap_complete::generate(shell, &mut command, "cer", &mut script);
    output.data(&script)?;
    Ok(ExitStatus::Success)
}

/// The words a value flag completes to, by flag name; parsing still accepts any value.
fn usual_values(name: &str) -> Option<Vec<&'static str>> {
    match name {
        "day" => Some(vec!["today", "yesterday"]),
        // GoTo's filter values, which the flag passes on: cer's own words would match nothing.
        "outcome" => Some(GOTO_CALLER_OUTCOMES.to_vec()),
        "scope" => Some(vec!["INTERNAL", "EXTERNAL"]),
        _ => None,
    }
}

/// A copy of `command` for the completion generators, which list hidden flags and know no
/// values for free-text flags: it has neither problem. Only used to write the script.
fn for_completion(command: clap::Command) -> clap::Command {
    let arguments: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .map(|arg| match usual_values(arg.get_id().as_str()) {
            Some(values) => arg.clone().value_parser(PossibleValuesParser::new(values)),
            None => arg.clone(),
        })
        .collect();
    let subcommands: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .cloned()
        .map(for_completion)
        .collect();
    let mut copy = clap::Command::new(command.get_name().to_string())
        .args(arguments)
        .subcommands(subcommands);
    if let Some(about) = command.get_about() {
        copy = copy.about(about.clone());
    }
    if let Some(version) = command.get_version() {
        copy = copy.version(version.to_string());
    }
    copy
}
