//! The last line of defence for Secret values: every sink and every error message passes
//! through [`redact`], which replaces any Secret value landscape has seen in this process
//! (as stored in base64, decoded, or given as stringData) with `***`.
//!
//! Diffs mask Secrets structurally (diff::mask); this catches what structure cannot: an
//! API server's validation message that quotes a value, a log line, a template error.

use std::collections::BTreeSet;
use std::sync::RwLock;

static SECRETS: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());

/// Remembers values that must never be printed.
pub fn register(values: impl IntoIterator<Item = String>) {
    let mut set = SECRETS.write().expect("lock");
    set.extend(values.into_iter().filter(|v| v.len() >= 4));
}

/// `text` with every registered value replaced by `***` (longest first, so a value that
/// contains another is replaced whole).
pub fn redact(text: &str) -> String {
    let set = SECRETS.read().expect("lock");
    if set.is_empty() {
        return text.to_string();
    }
    let mut values: Vec<&String> = set.iter().collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_string();
    for v in values {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_never_come_out() {
        register(["s3cr3t-value".to_string(), "abc".to_string()]);
        assert_eq!(
            redact("token=s3cr3t-value; abc stays"),
            "token=***; abc stays"
        );
    }
}
