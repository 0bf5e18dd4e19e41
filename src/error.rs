//! The user-facing error of a command and the exit code it maps to.

use std::fmt;

/// Exit codes are part of devenv's interface; scripts depend on them.
pub mod exit {
    pub const FAILURE: i32 = 1;
    pub const CONFIG: i32 = 2;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug)]
pub enum Error {
    /// Config or usage problems, already rendered with locations. Exit code 2.
    Config(String),
    /// A failure while doing the work: one message and, where one helps, a hint. Exit code 1.
    Failed {
        message: String,
        hint: Option<String>,
    },
    /// The program devenv ran (`run`, `exec`) exited with this code; nothing more to say.
    Exit(i32),
}

impl Error {
    pub fn failed(message: impl Into<String>) -> Error {
        Error::Failed {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::Failed {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) => exit::CONFIG,
            Error::Failed { .. } => exit::FAILURE,
            Error::Exit(code) => *code,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(text) => f.write_str(text.trim_end()),
            Error::Failed { message, hint } => {
                write!(f, "error: {message}")?;
                if let Some(hint) = hint {
                    write!(f, "\n  = hint: {hint}")?;
                }
                Ok(())
            }
            Error::Exit(_) => Ok(()),
        }
    }
}

impl From<crate::engine::EngineError> for Error {
    fn from(e: crate::engine::EngineError) -> Error {
        Error::failed(e.to_string())
    }
}
