//! The last line of defence for secret values: every sink, every error message and every
//! printed document passes through [`redact`], which replaces any secret landscape has
//! seen in this process with `***`.
//!
//! Secrets are every value of every Secret (as stored in base64, decoded, or given as
//! stringData) and every value the stack marks `secret: true`. They are replaced wherever
//! they appear, inside larger strings too (a token inside a JSON config) — except values
//! under four characters, which would also match innocent text: those are replaced only
//! where they stand as a whole value (`password: abc`, `"abc"` in JSON).
//!
//! Diffs mask Secrets structurally (diff::mask); this catches what structure cannot: an
//! API server's validation message that quotes a value, a log line, a ConfigMap that
//! embeds a password.

use std::collections::BTreeSet;
use std::sync::RwLock;

/// Values replaced wherever they appear.
static ANYWHERE: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());
/// Values too short for that, replaced where they are a whole value.
static WHOLE: RwLock<BTreeSet<String>> = RwLock::new(BTreeSet::new());

/// Shorter values are redacted only as whole values.
const MIN_ANYWHERE: usize = 4;
pub const MASK: &str = "***";

/// Remembers values that must never be printed (the values of Secrets).
pub fn register(values: impl IntoIterator<Item = String>) {
    register_whole(values);
}

/// Remembers values that must never be printed, whatever their length.
pub fn register_whole(values: impl IntoIterator<Item = String>) {
    let mut anywhere = ANYWHERE.write().expect("lock");
    let mut whole = WHOLE.write().expect("lock");
    for v in values {
        let v = v.trim().to_string();
        if v.is_empty() {
            continue;
        }
        if v.len() >= MIN_ANYWHERE {
            anywhere.insert(v);
        } else {
            whole.insert(v);
        }
    }
}

/// `text` with every registered value replaced by `***`: long values anywhere (longest
/// first, so a value that contains another is replaced whole), short ones where a line
/// gives them as a whole value.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    {
        let set = ANYWHERE.read().expect("lock");
        if !set.is_empty() {
            let mut values: Vec<&String> = set.iter().collect();
            values.sort_by_key(|v| std::cmp::Reverse(v.len()));
            for v in values {
                if out.contains(v.as_str()) {
                    out = out.replace(v.as_str(), MASK);
                }
            }
        }
    }
    let whole = WHOLE.read().expect("lock");
    if whole.is_empty() {
        return out;
    }
    out.split_inclusive('\n')
        .map(|line| redact_whole_value(line, &whole))
        .collect()
}

/// A line whose value (after `key:`, `key=`, `- `, or a quoted string) is a short secret.
fn redact_whole_value(line: &str, whole: &BTreeSet<String>) -> String {
    let body = line.trim_end_matches(['\n', '\r']);
    let end = &line[body.len()..];
    for sep in [": ", "=", "- "] {
        if let Some(at) = body.rfind(sep) {
            let value = body[at + sep.len()..].trim();
            let bare = value.trim_matches(|c| c == '"' || c == '\'' || c == ',');
            if whole.contains(bare) {
                return format!("{}{MASK}{end}", &body[..at + sep.len()]);
            }
        }
    }
    line.to_string()
}

/// Redacts every string inside a JSON value in place. Done on the strings rather than on
/// the serialised text because JSON escaping would hide a value containing `"` or `\\`.
///
/// What names an object is left as it is — `kind`, `apiVersion`, `group`, `name` and
/// `namespace` beside a `kind` (an object, an object reference, an owner reference), and
/// `metadata.name`/`namespace`/`generateName`: names are not secret, and a secret that
/// happens to be a common word (a user name `admin` in a Secret) must not garble them.
pub fn redact_json(value: &mut serde_json::Value) {
    redact_json_in(value, Context::Value);
}

#[derive(Clone, Copy, PartialEq)]
enum Context {
    Value,
    Metadata,
    /// A Secret's or ConfigMap's data: whatever its keys are called, nothing is a name.
    Data,
}

fn redact_json_in(value: &mut serde_json::Value, context: Context) {
    match value {
        serde_json::Value::String(s) => {
            let whole = WHOLE.read().expect("lock").contains(s.trim());
            let clean = if whole { MASK.to_string() } else { redact(s) };
            if clean != *s {
                *s = clean;
            }
        }
        serde_json::Value::Array(items) => items
            .iter_mut()
            .for_each(|v| redact_json_in(v, Context::Value)),
        serde_json::Value::Object(fields) => {
            let names_a_kind = context != Context::Data
                && fields.get("kind").is_some_and(serde_json::Value::is_string);
            for (key, v) in fields.iter_mut() {
                let identity = match context {
                    Context::Metadata => {
                        matches!(key.as_str(), "name" | "namespace" | "generateName")
                    }
                    Context::Value => {
                        names_a_kind
                            && matches!(
                                key.as_str(),
                                "kind" | "apiVersion" | "group" | "name" | "namespace"
                            )
                    }
                    Context::Data => false,
                };
                if identity && v.is_string() {
                    continue;
                }
                let below = match key.as_str() {
                    "metadata" if names_a_kind => Context::Metadata,
                    "data" | "stringData" | "binaryData" => Context::Data,
                    _ => Context::Value,
                };
                redact_json_in(v, below);
            }
        }
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

/// A URL without credentials (`https://user:token@host/x` → `https://host/x`), for
/// anything printed or logged.
pub fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_never_come_out() {
        register(["s3cr3t-value".to_string()]);
        assert_eq!(
            redact("token=s3cr3t-value; other stays"),
            "token=***; other stays"
        );
        assert_eq!(
            redact(r#"{"config": "{\"auth\":\"s3cr3t-value\"}"}"#),
            r#"{"config": "{\"auth\":\"***\"}"}"#
        );
    }

    #[test]
    fn short_values_are_redacted_as_whole_values_only() {
        register_whole(["q7z".to_string()]);
        assert_eq!(redact("password: q7z\n"), "password: ***\n");
        assert_eq!(redact("  - \"q7z\"\n"), "  - ***\n");
        assert_eq!(
            redact("url: https://q7zhost/x\n"),
            "url: https://q7zhost/x\n"
        );
        let mut v = serde_json::json!({"p": "q7z", "s": "aq7zb"});
        redact_json(&mut v);
        assert_eq!(v, serde_json::json!({"p": "***", "s": "aq7zb"}));
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

    #[test]
    fn names_stay_readable_whatever_the_secrets() {
        register(["w0rd-admin".to_string()]);
        let mut v = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "role:w0rd-admin:x", "namespace": "ns", "labels": {"l": "w0rd-admin"}},
            "data": {"name": "w0rd-admin", "kind": "w0rd-admin"},
            "env": [{"name": "USER", "value": "w0rd-admin"}],
            "object": {"group": "", "kind": "ClusterRole", "name": "w0rd-admin:policies"},
        });
        redact_json(&mut v);
        assert_eq!(v["metadata"]["name"], "role:w0rd-admin:x");
        assert_eq!(v["object"]["name"], "w0rd-admin:policies");
        assert_eq!(v["metadata"]["labels"]["l"], MASK);
        assert_eq!(v["data"]["name"], MASK, "a Secret's data is never a name");
        assert_eq!(v["data"]["kind"], MASK);
        assert_eq!(v["env"][0]["value"], MASK);
    }

    #[test]
    fn credentials_leave_urls() {
        assert_eq!(
            strip_userinfo("https://user:tok@mirror.example/a/b?x=1"),
            "https://mirror.example/a/b?x=1"
        );
        assert_eq!(strip_userinfo("https://h/p@x"), "https://h/p@x");
        assert_eq!(strip_userinfo("/dir"), "/dir");
    }
}
