//! `cer completions SHELL`: the completion script, generated from the same clap definition
//! as `--help`, so the two never disagree.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::output::Output;

pub fn run(shell: clap_complete::Shell, output: &Output) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cer", &mut script);
    output.data(&script)?;
    Ok(())
}
