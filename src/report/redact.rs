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

/// Redacts every string inside a JSON value in place. Done on the strings rather than on
/// the serialised text because JSON escaping would hide a value containing `"` or `\\`.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let clean = redact(s);
            if clean != *s {
                *s = clean;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// Standard error, with every registered value redacted: the writer behind log lines, which
/// may quote an API server's message verbatim. tracing's formatter hands over one whole
/// line per write, so a value is never split across two calls.
pub struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = redact(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
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

    #[test]
    fn json_strings_are_redacted_wherever_they_nest() {
        register(["quote\"d-secret".to_string()]);
        let mut v = serde_json::json!({"error": "bad value quote\"d-secret", "list": ["x quote\"d-secret"]});
        redact_json(&mut v);
        let text = v.to_string();
        assert!(!text.contains("d-secret"), "{text}");
        assert_eq!(v["list"][0], "x ***");
    }
}
