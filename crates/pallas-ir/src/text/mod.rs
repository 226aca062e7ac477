//! The text format (`.pk` files): a printer and a parser.
//!
//! `parse(&print(&k)) == k` for every kernel the builder or the parser
//! makes. A file holds one kernel; `#` starts a comment. See
//! `ARCHITECTURE.md` for the grammar, and `examples/kernels/` for samples.

mod lexer;
mod parser;
mod printer;

pub use parser::parse;
pub use printer::print;

use crate::kernel::Loc;
use crate::validate::{validate, ValidatedKernel, ValidationErrors};

/// The file extension of kernel text files.
pub const EXTENSION: &str = "pk";

/// A parse error: where, what was expected, what was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{loc}: expected {expected}, found {found}")]
pub struct ParseError {
    /// Line and column of the offending token.
    pub loc: Loc,
    /// What the parser expected there.
    pub expected: String,
    /// What it found.
    pub found: String,
}

impl ParseError {
    pub(crate) fn new(loc: Loc, expected: &str, found: &str) -> Self {
        ParseError {
            loc,
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }
}

/// Why kernel text could not be turned into a validated kernel.
#[derive(Debug, thiserror::Error)]
pub enum KernelTextError {
    /// The text does not parse.
    #[error("parse error at {0}")]
    Parse(#[from] ParseError),
    /// The kernel parses but is not valid.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// Parses and validates kernel text.
pub fn parse_and_validate(src: &str) -> Result<ValidatedKernel, KernelTextError> {
    let k = parse(src)?;
    Ok(validate(&k)?)
}
