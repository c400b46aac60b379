//! Values: layering, `--set`, and catching typos.
//!
//! Layers, lowest first, as helm users expect: component defaults, then the profile, then
//! the user's stack file, then each `-f` file in order, then each `--set` in order. Maps
//! merge key by key; anything else (lists included) is replaced.
//!
//! A key that does not exist in the layers below is almost always a typo, so it is an
//! error naming the file, line and column — except under a component's `chart` value,
//! which is handed to Helm as is and may hold anything the chart accepts.

use serde_json::{Map, Value};

use super::tree::{Positions, join_path};

/// The key under which a component's raw Helm values live; free-form.
pub const CHART_KEY: &str = "chart";

/// Merges `over` into `base`: maps recursively, everything else replaced. A `null` in
/// `over` deletes the key, as in helm.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                if v.is_null() {
                    base.remove(&k);
                    continue;
                }
                match base.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// A key in a higher layer with no counterpart below it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownKey {
    /// The dotted path, relative to the component (`backup.bucket`).
    pub path: String,
    /// Keys that do exist at that level, to suggest the intended one.
    pub known: Vec<String>,
}

/// Checks that every key of `over` exists in `schema`, except below the `chart` key at the
/// root (raw Helm values). Reports every unknown key, in document order.
pub fn unknown_keys(schema: &Value, over: &Value) -> Vec<UnknownKey> {
    let mut out = Vec::new();
    walk_unknown(schema, over, "", &mut out);
    out
}

fn walk_unknown(schema: &Value, over: &Value, prefix: &str, out: &mut Vec<UnknownKey>) {
    let (Some(schema), Some(over)) = (schema.as_object(), over.as_object()) else {
        return;
    };
    for (k, v) in over {
        let path = join_path(prefix, k);
        if prefix.is_empty() && k == CHART_KEY {
            continue;
        }
        match schema.get(k) {
            Some(below) => walk_unknown(below, v, &path, out),
            None => out.push(UnknownKey {
                path,
                known: schema.keys().cloned().collect(),
            }),
        }
    }
}

/// Reads the value at a dotted path (`a.b.c`).
pub fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// The values at a dotted path pattern (`clusters.*.bearerToken`: `*` matches any key or
/// list item), with the concrete path of each (`clusters.0.bearerToken`).
pub fn find<'a>(value: &'a Value, pattern: &str) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    let segments: Vec<&str> = pattern.split('.').collect();
    walk_pattern(value, &segments, String::new(), &mut out);
    out
}

fn walk_pattern<'a>(
    value: &'a Value,
    segments: &[&str],
    path: String,
    out: &mut Vec<(String, &'a Value)>,
) {
    let Some((first, rest)) = segments.split_first() else {
        out.push((path, value));
        return;
    };
    let children: Vec<(String, &Value)> = match value {
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| *first == "*" || k.as_str() == *first)
            .map(|(k, v)| (k.clone(), v))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter(|(i, _)| *first == "*" || first.parse::<usize>().ok() == Some(*i))
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    for (k, v) in children {
        walk_pattern(v, rest, join_path(&path, &k), out);
    }
}

/// Removes every value at a dotted path pattern; returns whether anything was removed.
pub fn remove(value: &mut Value, pattern: &str) -> bool {
    let segments: Vec<&str> = pattern.split('.').collect();
    clear_at(value, &segments, Clear::Remove)
}

/// Sets every value at a dotted path pattern to null, keeping its key: a stack file's
/// defaults declare which values exist, so a scrubbed one must still declare them.
/// Returns whether anything was blanked.
pub fn blank(value: &mut Value, pattern: &str) -> bool {
    let segments: Vec<&str> = pattern.split('.').collect();
    clear_at(value, &segments, Clear::Blank)
}

#[derive(Clone, Copy)]
enum Clear {
    Remove,
    Blank,
}

fn clear_at(value: &mut Value, segments: &[&str], how: Clear) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return false;
    };
    let matches = |k: &str| *first == "*" || k == *first;
    match value {
        Value::Object(m) if rest.is_empty() => {
            let keys: Vec<String> = m.keys().filter(|k| matches(k)).cloned().collect();
            keys.iter().fold(false, |acc, k| {
                let cleared = match how {
                    Clear::Remove => m.remove(k).is_some(),
                    Clear::Blank => m.get_mut(k).is_some_and(|v| !std::mem::take(v).is_null()),
                };
                cleared || acc
            })
        }
        Value::Object(m) => m
            .iter_mut()
            .filter(|(k, _)| matches(k))
            .fold(false, |acc, (_, v)| clear_at(v, rest, how) || acc),
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| *first == "*" || first.parse::<usize>().ok() == Some(*i))
            .fold(false, |acc, (_, v)| {
                if rest.is_empty() {
                    // An item cannot go without moving the others: it becomes null.
                    !std::mem::take(v).is_null() || acc
                } else {
                    clear_at(v, rest, how) || acc
                }
            }),
        _ => false,
    }
}

/// Whether a concrete dotted path (`clusters.0.bearerToken`) matches a pattern.
pub fn path_matches(path: &str, pattern: &str) -> bool {
    let p: Vec<&str> = path.split('.').collect();
    let q: Vec<&str> = pattern.split('.').collect();
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| *b == "*" || a == b)
}

/// One `--set path=value` assignment, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Path segments: map keys, or list indexes.
    pub path: Vec<Segment>,
    pub value: Value,
    /// The key as the user wrote it (never the value, which may be a secret), for messages.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl Assignment {
    /// The first path segment: the component the assignment is for.
    pub fn component(&self) -> Option<&str> {
        match self.path.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The value tree this assignment describes, relative to its component, so it can be
    /// checked and merged like a values file.
    pub fn to_tree(&self) -> Value {
        build(&self.path[1..], self.value.clone())
    }

    pub fn dotted_path(&self) -> String {
        let mut s = String::new();
        for seg in &self.path[1..] {
            match seg {
                Segment::Key(k) => s = join_path(&s, k),
                Segment::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

fn build(path: &[Segment], leaf: Value) -> Value {
    match path.split_first() {
        None => leaf,
        Some((Segment::Key(k), rest)) => {
            let mut m = Map::new();
            m.insert(k.clone(), build(rest, leaf));
            Value::Object(m)
        }
        Some((Segment::Index(i), rest)) => {
            let mut items = vec![Value::Null; *i];
            items.push(build(rest, leaf));
            Value::Array(items)
        }
    }
}

/// Applies an assignment to a component's values in place, extending lists as needed.
pub fn assign(values: &mut Value, path: &[Segment], leaf: Value) {
    let Some((first, rest)) = path.split_first() else {
        *values = leaf;
        return;
    };
    match first {
        Segment::Key(k) => {
            if !values.is_object() {
                *values = Value::Object(Map::new());
            }
            let slot = values
                .as_object_mut()
                .unwrap()
                .entry(k.clone())
                .or_insert(Value::Null);
            assign(slot, rest, leaf);
        }
        Segment::Index(i) => {
            if !values.is_array() {
                *values = Value::Array(Vec::new());
            }
            let items = values.as_array_mut().unwrap();
            if items.len() <= *i {
                items.resize(*i + 1, Value::Null);
            }
            assign(&mut items[*i], rest, leaf);
        }
    }
}

/// The assignments of a `--set` argument as written: `(key, raw value)` pairs, with `\,`
/// already turned into a comma.
pub fn split_assignments(arg: &str) -> Vec<(String, String)> {
    split_unescaped(arg, ',')
        .into_iter()
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.to_string()),
            None => (part.trim().to_string(), String::new()),
        })
        .collect()
}

/// The keys of a `--set` argument, for messages that must not echo its values.
pub fn keys_of(arg: &str) -> String {
    split_unescaped(arg, ',')
        .iter()
        .map(|part| {
            part.split_once('=')
                .map_or(part.as_str(), |(k, _)| k)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The largest list index `--set` accepts (as Helm does, to bound the list it builds).
pub const MAX_INDEX: usize = 65_536;

/// Which flag an assignment came from, and so how its value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: typed like Helm's.
    Typed,
    /// `--set-string`: always a string (`007`, `true` stay text).
    String,
    /// `--set-file`: the value is a path, whose file's text becomes the value.
    File,
}

impl SetKind {
    pub fn flag(self) -> &'static str {
        match self {
            SetKind::Typed => "--set",
            SetKind::String => "--set-string",
            SetKind::File => "--set-file",
        }
    }
}

/// Parses one `--set` argument, which may hold several comma-separated assignments
/// (`a.b=1,c=x`); `\,` is a literal comma. Values are typed like helm's: `true`/`false`,
/// `null`, integers and floats become those types; anything else is a string.
pub fn parse_set(arg: &str) -> Result<Vec<Assignment>, String> {
    parse_set_as(arg, SetKind::Typed)
}

/// Parses one argument of `kind`'s flag: as [`parse_set`], with values kept as written for
/// `--set-string` and `--set-file` (whose value is then the path).
pub fn parse_set_as(arg: &str, kind: SetKind) -> Result<Vec<Assignment>, String> {
    split_unescaped(arg, ',')
        .into_iter()
        .map(|part| parse_one(&part, kind))
        .collect()
}

fn parse_one(part: &str, kind: SetKind) -> Result<Assignment, String> {
    let (key, raw) = part
        .split_once('=')
        .ok_or_else(|| format!("`{part}` is not of the form component.path=value"))?;
    let key = key.trim();
    let mut path = Vec::new();
    for piece in key.split('.') {
        let (name, indexes) = match piece.find('[') {
            Some(at) => (&piece[..at], &piece[at..]),
            None => (piece, ""),
        };
        if name.is_empty() {
            return Err(format!("`{key}` has an empty path segment"));
        }
        path.push(Segment::Key(name.to_string()));
        let mut rest = indexes;
        while let Some(stripped) = rest.strip_prefix('[') {
            let close = stripped
                .find(']')
                .ok_or_else(|| format!("`{key}`: unclosed `[`"))?;
            let index = stripped[..close]
                .parse::<usize>()
                .ok()
                .filter(|i| *i <= MAX_INDEX)
                .ok_or_else(|| {
                    format!(
                        "`{key}`: `{}` is not a list index (0 to {MAX_INDEX})",
                        &stripped[..close]
                    )
                })?;
            path.push(Segment::Index(index));
            rest = &stripped[close + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("`{key}`: unexpected `{rest}`"));
        }
    }
    if path.len() < 2 {
        return Err(format!(
            "`{key}` names no value; write component.path=value (for example velero.backup.bucket=my-bucket)"
        ));
    }
    if kind == SetKind::File && raw.trim().is_empty() {
        return Err(format!("`{key}` names no file; write component.path=FILE"));
    }
    Ok(Assignment {
        path,
        value: match kind {
            SetKind::Typed => typed(raw),
            SetKind::String | SetKind::File => Value::String(raw.to_string()),
        },
        key: key.to_string(),
    })
}

fn typed(raw: &str) -> Value {
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => {
            if let Ok(i) = raw.parse::<i64>() {
                // Keep strings like "007" or "+1" as written: they are rarely numbers.
                if i.to_string() == raw {
                    return Value::from(i);
                }
            }
            if raw.contains('.')
                && let Ok(f) = raw.parse::<f64>()
                && f.is_finite()
                && !raw.starts_with('.')
                && !raw.ends_with('.')
            {
                return serde_json::Number::from_f64(f)
                    .map_or(Value::String(raw.into()), Value::Number);
            }
            Value::String(raw.to_string())
        }
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&sep) {
            parts.last_mut().unwrap().push(sep);
            chars.next();
        } else if c == sep {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(c);
        }
    }
    parts
}

/// Where a value came from, for "unknown key" errors.
pub fn position_of<'a>(positions: &'a Positions, path: &str) -> Option<&'a crate::yaml::Position> {
    positions.get(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_merge_and_lists_replace() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        merge(&mut base, json!({"a": {"c": [3]}, "e": true}));
        assert_eq!(base, json!({"a": {"b": 1, "c": [3]}, "d": "x", "e": true}));
    }

    #[test]
    fn null_deletes_a_key() {
        let mut base = json!({"a": 1, "b": 2});
        merge(&mut base, json!({"a": null}));
        assert_eq!(base, json!({"b": 2}));
    }

    #[test]
    fn set_parses_types_paths_and_escapes() {
        let a = parse_set("velero.backup.bucket=b1,velero.replicas=3").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].component(), Some("velero"));
        assert_eq!(a[0].dotted_path(), "backup.bucket");
        assert_eq!(a[1].value, json!(3));
        let b = parse_set(r"x.list[1].name=a\,b").unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].value, json!("a,b"));
        assert_eq!(b[0].to_tree(), json!({"list": [null, {"name": "a,b"}]}));
        assert_eq!(parse_set("x.v=007").unwrap()[0].value, json!("007"));
        assert_eq!(parse_set("x.v=1.5").unwrap()[0].value, json!(1.5));
        assert_eq!(parse_set("x.v=false").unwrap()[0].value, json!(false));
    }

    #[test]
    fn set_string_keeps_values_as_text() {
        let a = parse_set_as("x.v=007,x.w=true,x.n=12,x.l=a\\,b", SetKind::String).unwrap();
        let values: Vec<&Value> = a.iter().map(|a| &a.value).collect();
        assert_eq!(
            values,
            [&json!("007"), &json!("true"), &json!("12"), &json!("a,b")]
        );
        assert_eq!(parse_set("x.n=12").unwrap()[0].value, json!(12));
        assert!(parse_set_as("x.f=", SetKind::File).is_err());
        assert_eq!(
            parse_set_as("x.f=ca.pem", SetKind::File).unwrap()[0].value,
            json!("ca.pem")
        );
    }

    #[test]
    fn set_rejects_malformed_input() {
        assert!(parse_set("velero").is_err());
        assert!(parse_set("velero=1").is_err());
        assert!(parse_set("a..b=1").is_err());
        assert!(parse_set("a.b[x]=1").is_err());
        assert!(parse_set("a.b[100000000000]=1").is_err());
        assert_eq!(keys_of("a.b=secret,c.d=s2"), "a.b,c.d");
    }

    #[test]
    fn assign_extends_lists() {
        let mut v = json!({"a": {"list": ["x"]}});
        let a = &parse_set("c.a.list[2]=z").unwrap()[0];
        assign(&mut v, &a.path[1..], a.value.clone());
        assert_eq!(v, json!({"a": {"list": ["x", null, "z"]}}));
    }

    #[test]
    fn patterns_find_and_remove_values() {
        let mut v = json!({"clusters": [{"name": "a", "bearerToken": "t1"}, {"name": "b", "bearerToken": "t2"}], "other": 1});
        let found: Vec<String> = find(&v, "clusters.*.bearerToken")
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(found, ["clusters.0.bearerToken", "clusters.1.bearerToken"]);
        assert!(path_matches(
            "clusters.1.bearerToken",
            "clusters.*.bearerToken"
        ));
        assert!(!path_matches("clusters.1.name", "clusters.*.bearerToken"));
        assert!(remove(&mut v, "clusters.*.bearerToken"));
        assert_eq!(
            v,
            json!({"clusters": [{"name": "a"}, {"name": "b"}], "other": 1})
        );
        assert!(!remove(&mut v, "nothing.here"));
    }

    #[test]
    fn blanking_keeps_the_keys_removing_does_not() {
        let tree = json!({"a": {"token": "t", "other": 1}, "list": [{"token": "u"}]});
        let mut blanked = tree.clone();
        assert!(blank(&mut blanked, "a.token"));
        assert!(blank(&mut blanked, "list.*.token"));
        assert_eq!(
            blanked,
            json!({"a": {"token": null, "other": 1}, "list": [{"token": null}]})
        );
        assert!(!blank(&mut blanked, "a.token"), "already blank");
        let mut removed = tree;
        assert!(remove(&mut removed, "a.token"));
        assert_eq!(removed["a"], json!({"other": 1}));
    }

    #[test]
    fn unknown_keys_are_found_except_under_chart() {
        let schema = json!({"backup": {"bucket": null, "region": null}, "chart": {}});
        let over =
            json!({"backup": {"bukcet": "b"}, "chart": {"anything": {"goes": 1}}, "extra": 1});
        let unknown = unknown_keys(&schema, &over);
        let paths: Vec<_> = unknown.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(paths, ["backup.bukcet", "extra"]);
        assert_eq!(unknown[0].known, ["bucket", "region"]);
    }
}
