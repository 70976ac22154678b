//! How a command ended, named: the contract's exit codes (SPEC section 3) as one type that
//! commands return and `errors` maps failures to, instead of numbers passed around.

/// The exit status of a run of cer, one variant per code of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done; also `listen` after a clean shutdown, and a closed pipe.
    Success,
    /// 1: the network, a server after the retries, or I/O failed.
    Failure,
    /// 2: a usage or configuration error, found before any network call.
    Usage,
    /// 3: not found (a report, a call or a recording).
    NotFound,
    /// 4: authentication needed (not logged in, a refused token, a missing scope).
    Auth,
    /// 130: interrupted a second time while shutting down, or while writing a recording.
    Interrupted,
}

impl ExitStatus {
    /// The process's exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::NotFound => 3,
            Self::Auth => 4,
            Self::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        Self::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn each_status_has_the_code_of_the_contract() {
        let codes = [
            ExitStatus::Success,
            ExitStatus::Failure,
            ExitStatus::Usage,
            ExitStatus::NotFound,
            ExitStatus::Auth,
            ExitStatus::Interrupted,
        ]
        .map(ExitStatus::code);
        assert_eq!(codes, [0, 1, 2, 3, 4, 130]);
    }
}
