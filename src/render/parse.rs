//! Parsing rendered or downloaded text into objects: a multi-document YAML stream, `kind:
//! List` flattened, each document checked to be an object landscape can apply (apiVersion,
//! kind and name; no generateName). An HTML page where YAML was expected is named as such,
//! since it is the usual sign of a wrong URL or a login page.

use serde_json::Value;

use super::RenderError;
use crate::k8s::Object;

/// Parses a multi-document stream into objects, flattening `kind: List`.
pub fn parse_objects(
    component: &str,
    origin: &str,
    text: &str,
    downloaded: bool,
) -> Result<Vec<Object>, RenderError> {
    let doc_error = |index: usize, message: String| RenderError::Document {
        component: component.to_string(),
        origin: origin.to_string(),
        index,
        message,
        downloaded,
    };
    let head = text
        .trim_start()
        .get(..15)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype") || head.starts_with("<html") {
        return Err(doc_error(
            1,
            "got an HTML page, not YAML (wrong URL, or a login or error page)".into(),
        ));
    }
    let docs: Vec<Value> = crate::yaml::from_str_multi(text).map_err(|e| {
        let at = e
            .position
            .map(|p| format!(" at line {}, column {}", p.line, p.column))
            .unwrap_or_default();
        doc_error(0, format!("invalid YAML{at}: {}", e.message))
    })?;
    let mut objects = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let index = i + 1;
        if doc.is_null() {
            continue;
        }
        if !doc.is_object() {
            return Err(doc_error(
                index,
                "not a YAML map; every document must be a Kubernetes object".into(),
            ));
        }
        let obj = Object(doc);
        if obj.kind().ends_with("List") && obj.pointer("/items").is_some_and(Value::is_array) {
            let items = obj.0["items"].as_array().cloned().unwrap_or_default();
            for item in items {
                objects.push(check_object(Object(item)).map_err(|m| doc_error(index, m))?);
            }
            continue;
        }
        objects.push(check_object(obj).map_err(|m| doc_error(index, m))?);
    }
    Ok(objects)
}

/// Checks one document: what the API server would refuse, or what landscape could not apply
/// the same way twice, is reported here with the document it came from.
fn check_object(obj: Object) -> Result<Object, String> {
    let missing: Vec<&str> = [
        ("apiVersion", obj.api_version().is_empty()),
        ("kind", obj.kind().is_empty()),
        ("metadata.name", obj.name().is_empty()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(f, _)| *f)
    .collect();
    if !missing.is_empty() {
        let what = if obj.kind().is_empty() {
            "object".to_string()
        } else {
            format!("{} object", obj.kind())
        };
        return Err(format!("{what} has no {}", missing.join(", no ")));
    }
    if obj.0.pointer("/metadata/generateName").is_some() {
        return Err(format!(
            "{} uses generateName, which cannot be applied idempotently",
            obj.key()
        ));
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_need_kind_api_version_and_name() {
        let err = parse_objects(
            "c",
            "f.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.yaml, document 1: component `c`: ConfigMap object has no metadata.name"
        );
        let err = parse_objects("c", "f.yaml", "---\nfoo: 1\n", false).unwrap_err();
        assert!(
            err.to_string()
                .contains("object has no apiVersion, no kind, no metadata.name"),
            "{err}"
        );
    }

    #[test]
    fn lists_are_flattened_and_html_is_refused() {
        let objs = parse_objects(
            "c",
            "x",
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
            false,
        )
        .unwrap();
        assert_eq!(objs.len(), 2);
        let err = parse_objects("c", "https://x", "<!DOCTYPE html><html>", true).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Artifact);
    }
}
