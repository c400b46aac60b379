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

/// The line each document of a multi-document stream starts on (its first line that is
/// neither blank nor a comment), for the documents [`crate::yaml::from_str_multi`] keeps —
/// so a finding in a file can name its line.
pub fn document_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("---") {
            if let Some(s) = start.take() {
                out.push(s);
            }
            // `--- {a: b}`: the document starts on the separator's line.
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                start = Some(i + 1);
            }
            continue;
        }
        let content = line.trim();
        if start.is_none() && !content.is_empty() && !content.starts_with('#') {
            start = Some(i + 1);
        }
    }
    out.extend(start);
    out
}

#[cfg(test)]
mod line_tests {
    use super::document_lines;

    #[test]
    fn each_document_starts_on_its_first_line_of_content() {
        let text = "# header\n\napiVersion: v1\nkind: A\n---\n# only a comment\n---\n\nkind: B\n--- {kind: C}\n";
        assert_eq!(document_lines(text), [3, 9, 10]);
        let docs: Vec<serde_json::Value> = crate::yaml::from_str_multi(text).unwrap();
        assert_eq!(docs.iter().filter(|d| !d.is_null()).count(), 3);
    }
}

/// A manifest file given on the command line (`lint -f`, `check -f`): its objects, each
/// with the line its document starts on. `-` reads standard input.
pub fn read_manifest_file(
    path: &std::path::Path,
) -> Result<Vec<(Object, Option<usize>)>, RenderError> {
    let label = path.display().to_string();
    let text = if label == "-" {
        use std::io::Read;
        let mut text = String::new();
        std::io::stdin()
            .take(crate::files::INPUT_LIMIT)
            .read_to_string(&mut text)
            .map_err(|e| RenderError::Read {
                path: label.clone(),
                message: e.to_string(),
            })?;
        text
    } else {
        crate::files::read_text(path, crate::files::INPUT_LIMIT).map_err(|e| RenderError::Read {
            path: label.clone(),
            message: e.to_string(),
        })?
    };
    let objects = parse_objects("-f", &label, &text, false)?;
    let lines = document_lines(&text);
    // A `kind: List` gives several objects from one document: lines then cannot be told.
    let exact = lines.len() == objects.len();
    Ok(objects
        .into_iter()
        .enumerate()
        .map(|(i, o)| (o, exact.then(|| lines[i])))
        .collect())
}
