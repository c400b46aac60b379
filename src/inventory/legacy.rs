//! Inventories written by landscape 0.1 (format 1: plain JSON under `inventory`), read so
//! that a stack installed by the older release upgrades in place. They are written back in
//! the current format by the next run.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    ComponentRecord, Inputs, Inventory, Members, Origin, RecordedFile, RunState, StackIdentity,
};
use crate::health::ReadinessRule;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1 {
    stack: String,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    order: Vec<String>,
    #[serde(default)]
    components: BTreeMap<String, V1Component>,
    #[serde(default)]
    retained: Members,
    #[serde(default)]
    inputs: V1Inputs,
    #[serde(default)]
    updated: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Component {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    last_applied: String,
    #[serde(default)]
    cni: bool,
    #[serde(default)]
    readiness: Vec<ReadinessRule>,
    #[serde(default)]
    objects: Members,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Inputs {
    #[serde(default)]
    stack_file: Option<String>,
    #[serde(default)]
    stack_path: Option<String>,
    #[serde(default)]
    values_files: Vec<String>,
    #[serde(default)]
    set: Vec<String>,
}

pub fn read(bytes: &[u8]) -> Result<Inventory, String> {
    let v: V1 = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let origin = match (&v.inputs.stack_path, &v.profile) {
        (Some(path), _) => Origin::File {
            path: path.clone(),
            declared_name: None,
        },
        (None, Some(p)) => Origin::Profile { profile: p.clone() },
        (None, None) => Origin::File {
            path: String::new(),
            declared_name: Some(v.stack.clone()),
        },
    };
    let label = v.inputs.stack_path.clone().unwrap_or_default();
    Ok(Inventory {
        identity: StackIdentity {
            name: v.stack,
            origin,
            profile: v.profile,
        },
        state: RunState::Installed,
        order: v.order,
        components: v
            .components
            .into_iter()
            .map(|(name, c)| {
                let record = ComponentRecord {
                    version: c.version,
                    last_applied: c.last_applied,
                    cni: c.cni,
                    readiness: c.readiness,
                    objects: c.objects,
                    adopted: Members::default(),
                };
                (name, record)
            })
            .collect(),
        retained: v.retained,
        inputs: Inputs {
            stack_file: v.inputs.stack_file.map(|text| RecordedFile { label, text }),
            values_files: v
                .inputs
                .values_files
                .into_iter()
                .enumerate()
                .map(|(i, text)| RecordedFile {
                    label: format!("values file {}", i + 1),
                    text,
                })
                .collect(),
            set: v.inputs.set,
            set_string: Vec::new(),
            secrets_given: Vec::new(),
        },
        sync: Default::default(),
        updated: v.updated,
        resource_version: None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn format_one_inventories_are_read() {
        let text = r#"{"stack":"small","profile":"small","order":["flannel"],
            "components":{"flannel":{"version":"v0.28.9","cni":true,"objects":["/Namespace//kube-flannel"]}},
            "retained":[],"inputs":{"profile":"small","valuesFiles":["velero: {}"],"set":["a.b=c"]}}"#;
        let inv = super::read(text.as_bytes()).unwrap();
        assert_eq!(inv.stack(), "small");
        assert_eq!(inv.components["flannel"].objects.len(), 1);
        assert_eq!(inv.inputs.set, ["a.b=c"]);
        assert!(matches!(inv.identity.origin, super::Origin::Profile { .. }));
    }
}
