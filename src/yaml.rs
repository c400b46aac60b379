//! YAML in and out, in one place, so every file landscape reads is parsed with the same
//! rules — the ones kubectl uses.
//!
//! Two settings matter for Kubernetes manifests:
//! - `legacy_octal_numbers`: `defaultMode: 0644` must mean 420, as it does for kubectl
//!   (YAML 1.1); YAML 1.2 would read it as the decimal 644.
//! - a budget large enough for upstream release manifests: a single Kyverno or Calico
//!   manifest holds millions of YAML events, far above the library's defaults.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_saphyr::{Budget, Options};

/// Where in a source file something was found, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Position {
    pub fn from_location(location: serde_saphyr::Location) -> Option<Position> {
        (location.line() > 0).then(|| Position {
            line: location.line(),
            column: location.column(),
        })
    }
}

/// A YAML parse error reduced to one line: what went wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub position: Option<Position>,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<serde_saphyr::Error> for YamlError {
    fn from(err: serde_saphyr::Error) -> Self {
        let position = err.location().and_then(Position::from_location);
        let plain = err.without_snippet().to_string();
        // The library prefixes messages with "line L column C: "; the position is reported
        // separately (as file:line:col), so keep only the description.
        let message = match plain.split_once(": ") {
            Some((head, rest)) if head.starts_with("line ") => rest.to_string(),
            _ => plain,
        };
        let message = tidy(message.lines().next().unwrap_or_default().trim());
        YamlError { message, position }
    }
}

/// The library's message in landscape's words: no advice about its own options, and no
/// second copy of the position (it is reported as file:line:col).
fn tidy(message: &str) -> String {
    let mut m = message.to_string();
    if let Some(at) = m.rfind(" at line ")
        && m[at + 9..]
            .split(", column ")
            .all(|n| n.trim().bytes().all(|b| b.is_ascii_digit()))
    {
        m.truncate(at);
    }
    if let Some(rest) = m.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("duplicate key `{key}`");
    }
    m
}

fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_events = 50_000_000;
    budget.max_nodes = 20_000_000;
    budget.max_depth = 512;
    budget.max_documents = 1_000_000;
    budget.max_total_scalar_bytes = 512 * 1024 * 1024;
    budget.max_reader_input_bytes = Some(1024 * 1024 * 1024);
    let mut options = Options::default();
    options.budget = Some(budget);
    options.legacy_octal_numbers = true;
    options.with_snippet = false;
    options
}

/// Parses one YAML document into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(YamlError::from)
}

/// Parses every document of a multi-document stream; empty and comment-only documents are
/// skipped, as kubectl does.
pub fn from_str_multi<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, YamlError> {
    serde_saphyr::from_multiple_with_options(text, options()).map_err(YamlError::from)
}

/// Serialises a value as a YAML document (no leading `---`).
pub fn to_string<T: Serialize>(value: &T) -> String {
    serde_saphyr::to_string(value).expect("serialising plain data to YAML cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn octal_file_modes_read_like_kubectl() {
        let v: Value = from_str("defaultMode: 0644\n").unwrap();
        assert_eq!(v["defaultMode"], 420);
    }

    #[test]
    fn multi_document_streams_skip_empty_documents() {
        let docs: Vec<Value> =
            from_str_multi("---\n# only a comment\n---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["b"], 2);
    }

    #[test]
    fn duplicate_keys_are_named_plainly() {
        let err = from_str::<Value>("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.message, "duplicate key `a`");
        assert_eq!(err.position.unwrap().line, 2);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = from_str::<Value>("a: 1\nb: [1, 2\n").unwrap_err();
        let pos = err.position.clone().expect("a position");
        assert!(pos.line >= 2, "{err:?}");
        assert!(!err.message.is_empty());
        assert!(!err.message.contains('\n'));
    }
}
