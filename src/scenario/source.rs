//! Positions in a scenario file. The TOML parser and `Spanned` give byte spans; users get
//! `path:line:col: message` (1-based), the one error format of every scenario problem.

use crate::error::Error;
use std::ops::Range;
use std::path::Path;

/// One problem in a scenario, at a byte span of its text. The message is lower case and says what
/// to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Range<usize>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span,
            message: message.into(),
        }
    }
}

/// The outcome of checking one part of a scenario.
pub type Checked<T> = std::result::Result<T, Diagnostic>;

/// The text of a scenario file and the name it is reported by (the path as the user gave it).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl<'a> Source<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Source<'a> {
        Source { path, text }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// `path:line:col`, the prefix of every message about this file.
    pub fn location(&self, span: &Range<usize>) -> String {
        let (line, col) = self.line_col(span.start);
        format!("{}:{line}:{col}", self.path.display())
    }

    pub fn error(&self, diagnostic: Diagnostic) -> Error {
        Error::Invalid(format!("{}: {}", self.location(&diagnostic.span), diagnostic.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based_and_count_characters() {
        let source = Source::new(Path::new("x.toml"), "a = 1\nbé = \"2\"\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(4), (1, 5));
        assert_eq!(source.line_col(6), (2, 1));
        // "bé = " is 6 bytes but 5 characters.
        assert_eq!(source.line_col(12), (2, 6));
        assert_eq!(source.line_col(999), (3, 1));
        assert_eq!(source.location(&(6..7)), "x.toml:2:1");
    }
}
