//! The handlebars engine as landscape configures it: strict (a missing value is an error,
//! not an empty string), no HTML escaping (this is YAML, not a web page), and a few helpers
//! for writing YAML.

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
    handlebars_helper,
};
use serde_json::Value;

/// Builds the engine. Cheap enough to build once per render.
pub fn engine() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("toYaml", Box::new(to_yaml));
    hb.register_helper("toJson", Box::new(to_json));
    hb.register_helper("quote", Box::new(quote));
    hb.register_helper("default", Box::new(default));
    hb.register_helper("b64enc", Box::new(b64enc));
    hb.register_helper("join", Box::new(join));
    hb.register_helper("lower", Box::new(lower));
    hb.register_helper("randAlphaNum", Box::new(rand_alpha_num));
    hb.register_helper("list", Box::new(list_helper));
    hb.register_helper("concat", Box::new(concat_helper));
    hb.register_helper("object", Box::new(object_helper));
    hb
}

/// `{{toYaml value indent=4}}`: the value as block YAML. Lines after the first are indented
/// by `indent` spaces, so the tag is written where the first line belongs:
/// ```text
/// resources:
///   {{toYaml values.resources indent=2}}
/// ```
fn to_yaml(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("toYaml", 0))?
        .value();
    let indent = h
        .hash_get("indent")
        .and_then(|v| v.value().as_u64())
        .unwrap_or(0) as usize;
    let text = match value {
        // Empty collections have no block form; the flow form is valid in every position.
        Value::Object(m) if m.is_empty() => "{}".to_string(),
        Value::Array(a) if a.is_empty() => "[]".to_string(),
        other => crate::yaml::to_string(other),
    };
    let pad = " ".repeat(indent);
    let body = text
        .trim_end()
        .lines()
        .collect::<Vec<_>>()
        .join(&format!("\n{pad}"));
    out.write(&body)?;
    Ok(())
}

/// `{{toJson value}}`: the value as compact JSON, which is also valid flow-style YAML.
fn to_json(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("toJson", 0))?
        .value();
    out.write(&serde_json::to_string(value).map_err(|e| RenderErrorReason::Other(e.to_string()))?)?;
    Ok(())
}

/// `{{quote value}}`: a double-quoted YAML string, whatever the value's type.
fn quote(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("quote", 0))?
        .value();
    let s = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    out.write(&serde_json::to_string(&s).expect("strings serialise"))?;
    Ok(())
}

// `{{default value fallback}}`: `fallback` when `value` is missing, null or empty.
handlebars_helper!(default: |value: Json, fallback: Json| {
    let empty = match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    if empty { fallback.clone() } else { value.clone() }
});

handlebars_helper!(b64enc: |s: str| crate::k8s::base64::encode(s.as_bytes()));
handlebars_helper!(lower: |s: str| s.to_lowercase());
handlebars_helper!(join: |list: array, sep: str| list
    .iter()
    .map(|v| match v { Value::String(s) => s.clone(), other => other.to_string() })
    .collect::<Vec<_>>()
    .join(sep));

/// The longest random string a template may ask for.
const MAX_RANDOM: u64 = 4096;

/// `{{randAlphaNum 32}}`: a random string of letters and digits from the operating
/// system's random source. Only for objects marked create-only (a generated password):
/// anything else would change on every run.
fn rand_alpha_num(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let len = h
        .param(0)
        .and_then(|p| p.value().as_u64())
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("randAlphaNum", 0))?;
    if len > MAX_RANDOM {
        return Err(RenderErrorReason::Other(format!(
            "randAlphaNum {len}: at most {MAX_RANDOM} characters"
        ))
        .into());
    }
    let len = len as usize;
    let mut bytes = vec![0u8; len * 2];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| RenderErrorReason::Other(format!("no random source: {e}")))?;
    // Rejection sampling keeps the distribution uniform (256 is not a multiple of 62).
    let text: String = bytes
        .iter()
        .filter(|b| (**b as usize) < 248)
        .take(len)
        .map(|b| CHARS[*b as usize % CHARS.len()] as char)
        .collect();
    if text.len() < len {
        return Err(RenderErrorReason::Other("not enough randomness".into()).into());
    }
    out.write(&text)?;
    Ok(())
}

// Value helpers: used as subexpressions, they hand structured data to the helper around
// them (`{{#each (list "a" "b")}}`, `{{toJson (object "k" v)}}`).
handlebars_helper!(list_helper: |*args| Value::Array(args.iter().map(|v| (*v).clone()).collect()));
handlebars_helper!(concat_helper: |*args| Value::Array(
    args.iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            other => vec![(*other).clone()],
        })
        .collect()
));
handlebars_helper!(object_helper: |*args| Value::Object(
    args.chunks(2)
        .filter_map(|pair| {
            let key = pair[0].as_str()?.to_string();
            let value = pair.get(1).map(|v| (*v).clone()).unwrap_or(Value::Null);
            (!value.is_null()).then_some((key, value))
        })
        .collect()
));

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(tpl: &str, data: Value) -> Result<String, String> {
        engine()
            .render_template(tpl, &data)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn strict_mode_rejects_missing_values() {
        let err = render("a: {{values.missing}}", json!({"values": {}})).unwrap_err();
        assert!(err.contains("strict mode"), "{err}");
    }

    #[test]
    fn no_html_escaping() {
        assert_eq!(render("{{v}}", json!({"v": "a&b<'\""})).unwrap(), "a&b<'\"");
    }

    #[test]
    fn to_yaml_indents_following_lines() {
        let out = render(
            "r:\n  {{toYaml v indent=2}}\n",
            json!({"v": {"a": 1, "b": [1, 2]}}),
        )
        .unwrap();
        let parsed: Value = crate::yaml::from_str(&out).unwrap();
        assert_eq!(parsed, json!({"r": {"a": 1, "b": [1, 2]}}));
        assert_eq!(
            render("x: {{toYaml v}}", json!({"v": {}})).unwrap(),
            "x: {}"
        );
    }

    #[test]
    fn quote_default_join_b64() {
        assert_eq!(
            render("{{quote v}}", json!({"v": "0 2 * * *"})).unwrap(),
            "\"0 2 * * *\""
        );
        assert_eq!(
            render("{{default v \"x\"}}", json!({"v": ""})).unwrap(),
            "x"
        );
        assert_eq!(
            render("{{join l \",\"}}", json!({"l": ["a", "b"]})).unwrap(),
            "a,b"
        );
        assert_eq!(
            render("{{b64enc s}}", json!({"s": "hello"})).unwrap(),
            "aGVsbG8="
        );
        assert_eq!(
            render("{{#each (list \"a\" \"b\")}}{{this}};{{/each}}", json!({})).unwrap(),
            "a;b;"
        );
        assert_eq!(
            render("{{toJson (concat (list 1) l)}}", json!({"l": [2, 3]})).unwrap(),
            "[1,2,3]"
        );
        assert_eq!(
            render(
                "{{toJson (object \"k\" v \"n\" nothing)}}",
                json!({"v": 1, "nothing": null})
            )
            .unwrap(),
            r#"{"k":1}"#
        );
        assert_eq!(
            render(
                "{{toJson (default c (object \"a\" 1))}}",
                json!({"c": null})
            )
            .unwrap(),
            r#"{"a":1}"#
        );
        let a = render("{{randAlphaNum 24}}", json!({})).unwrap();
        let b = render("{{randAlphaNum 24}}", json!({})).unwrap();
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        let err = render("{{randAlphaNum 1000000000000}}", json!({})).unwrap_err();
        assert!(err.contains("at most 4096"), "{err}");
    }
}
