//! Findings as SARIF 2.1.0, the format code-scanning services read: one run of the tool
//! `landscape`, a rule per lint rule, a result per finding. Exempt findings (when shown)
//! are results with a suppression carrying the component's reason, so scanners record
//! them without raising them.

use serde_json::{Value, json};

use super::{Finding, Rule};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF log of `findings`.
pub fn log(findings: &[Finding]) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.name(),
                "shortDescription": {"text": r.summary()},
                "defaultConfiguration": {"level": level(*r)},
            })
        })
        .collect();
    let results: Vec<Value> = findings.iter().map(result).collect();
    json!({
        "version": "2.1.0",
        "$schema": SCHEMA,
        "runs": [{
            "tool": {"driver": {
                "name": "landscape",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/landscape-dev/landscape",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn level(rule: Rule) -> &'static str {
    if rule.is_error() { "error" } else { "warning" }
}

fn result(f: &Finding) -> Value {
    let object = f.object.to_string();
    let mut location = json!({
        "logicalLocations": [{"name": object, "kind": "resource"}],
    });
    if let Some(file) = &f.file {
        location["physicalLocation"] = json!({
            "artifactLocation": {"uri": file},
            "region": {"startLine": f.line.unwrap_or(1)},
        });
    }
    let mut out = json!({
        "ruleId": f.rule.name(),
        "ruleIndex": Rule::ALL.iter().position(|r| *r == f.rule),
        "level": level(f.rule),
        "message": {"text": format!("{object}: {} (fix: {})", f.message, f.fix)},
        "locations": [location],
    });
    if let Some(component) = &f.component {
        out["properties"] = json!({"component": component});
    }
    if let Some(reason) = &f.exempt {
        out["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::ObjectKey;

    #[test]
    fn a_result_per_finding_with_rule_location_and_suppression() {
        let finding = |exempt: Option<&str>, file: Option<&str>| Finding {
            rule: Rule::Privileged,
            object: ObjectKey {
                group: "apps".into(),
                kind: "DaemonSet".into(),
                namespace: Some("kube-flannel".into()),
                name: "kube-flannel-ds".into(),
            },
            component: Some("flannel".into()),
            file: file.map(str::to_string),
            line: file.map(|_| 12),
            message: "container `kube-flannel` runs privileged".into(),
            fix: "drop it".into(),
            exempt: exempt.map(str::to_string),
        };
        let log = log(&[
            finding(None, Some("manifests/flannel.yaml")),
            finding(Some("configures the node's network"), None),
        ]);
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "landscape");
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().unwrap().len(),
            Rule::ALL.len()
        );
        let first = &run["results"][0];
        assert_eq!(first["ruleId"], "privileged");
        assert_eq!(first["level"], "error");
        assert_eq!(
            run["tool"]["driver"]["rules"][first["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "privileged"
        );
        assert_eq!(
            first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "manifests/flannel.yaml"
        );
        assert_eq!(
            first["locations"][0]["physicalLocation"]["region"]["startLine"],
            12
        );
        assert!(first.get("suppressions").is_none());
        let second = &run["results"][1];
        assert!(second["locations"][0].get("physicalLocation").is_none());
        assert_eq!(
            second["suppressions"][0]["justification"],
            "configures the node's network"
        );
    }
}
