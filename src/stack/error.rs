//! Mistakes in stack files, values files and `--set`, reported with where they are and a
//! hint: `file:line:col: message (hint: …)`.

use std::path::PathBuf;

use serde_saphyr::Spanned;

use super::DEFAULT_STACK_FILE;
use crate::yaml::Position;

/// A required value that nobody gave.
#[derive(Clone, Debug, PartialEq)]
pub struct MissingValue {
    pub path: String,
    pub description: String,
}

/// A mistake in a stack file, a values file or a `--set`.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("{location}: {message}{}", hint_suffix(hint))]
    Invalid {
        /// `file:line:col`, `file`, or `--set a.b`.
        location: String,
        message: String,
        hint: Option<String>,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: crate::files::ReadError,
    },
    #[error(
        "no stack given (hint: pass --profile NAME with one of: {profiles}, or --stack FILE, or create {DEFAULT_STACK_FILE} in the working directory)"
    )]
    NoStack { profiles: String },
    #[error(
        "LANDSCAPE_PROFILE={profile} is set and {} is in the working directory: which stack is meant? (hint: pass --profile {profile} or --stack {}, or unset LANDSCAPE_PROFILE)", .file.display(), .file.display()
    )]
    Ambiguous { profile: String, file: PathBuf },
    #[error("missing required values: {} (hint: give them with -f values.yaml or --set component.path=value)", format_missing(.0))]
    MissingValues(Vec<MissingValue>),
    #[error("secret values were given to the last run but are not recorded: {} (hint: give them again with --set or -f)", .0.join(", "))]
    SecretsNotRecorded(Vec<String>),
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!(" (hint: {h})"))
        .unwrap_or_default()
}

fn format_missing(missing: &[MissingValue]) -> String {
    missing
        .iter()
        .map(|m| format!("{} ({})", m.path, m.description))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn invalid(
    location: impl Into<String>,
    message: impl Into<String>,
    hint: Option<String>,
) -> StackError {
    StackError::Invalid {
        location: location.into(),
        message: message.into(),
        hint,
    }
}

/// A file name plus a position, rendered `file:line:col`.
pub(super) fn at(file: &str, pos: Option<Position>) -> String {
    match pos {
        Some(p) => format!("{file}:{p}"),
        None => file.to_string(),
    }
}

pub(super) fn at_spanned<T>(file: &str, s: &Spanned<T>) -> String {
    at(file, Position::from_location(s.referenced))
}

/// The candidate closest to `word`, if one is close enough to be a typo of it. Words are
/// cut short first: an edit distance over untrusted megabytes would take seconds.
fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    const LONGEST: usize = 128;
    let word: String = word.chars().take(LONGEST).collect();
    candidates
        .into_iter()
        .filter(|c| c.len() <= LONGEST)
        .map(|c| (edit_distance(&word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    match closest(word, candidates.clone()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => {
            let all: Vec<&str> = candidates.into_iter().collect();
            if all.is_empty() {
                "there are none".to_string()
            } else {
                format!("known: {}", all.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(
            did_you_mean("bukcet", ["bucket", "region"]),
            "did you mean `bucket`?"
        );
        assert_eq!(did_you_mean("zzz", ["bucket"]), "known: bucket");
        let huge = "x".repeat(1_000_000);
        assert_eq!(did_you_mean(&huge, ["bucket"]), "known: bucket");
    }
}
