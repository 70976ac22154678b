//! The `cer` binary: everything lives in the library, so tests can reach the same code.

fn main() -> std::process::ExitCode {
    cer::main()
}
