//! The resources a cluster serves, from discovery, cached: which apiVersion and kind map
//! to which endpoint, and whether it is namespaced.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use kube::core::ApiResource;
use kube::discovery::{Discovery, Scope};

use crate::k8s::{Capabilities, split_api_version};

/// One served resource, as discovery describes it.
#[derive(Clone, Debug)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
}

/// (group, version, kind) → resource.
type Map = HashMap<(String, String, String), Resource>;

/// The cache; refreshed as a whole so readers never see half a discovery.
#[derive(Default)]
pub(super) struct Served(RwLock<Map>);

/// Stable versions before beta, beta before alpha.
fn stability(r: &Resource) -> (bool, bool) {
    (
        r.api.version.contains("alpha"),
        r.api.version.contains("beta"),
    )
}

impl Served {
    pub(super) async fn refresh(&self, client: &kube::Client) -> Result<(), kube::Error> {
        let discovery = Discovery::new(client.clone()).run_aggregated().await?;
        let mut map = HashMap::new();
        for group in discovery.groups() {
            for version in group.versions() {
                for (ar, caps) in group.versioned_resources(version) {
                    let key = (ar.group.clone(), ar.version.clone(), ar.kind.clone());
                    map.insert(
                        key,
                        Resource {
                            api: ar,
                            namespaced: caps.scope == Scope::Namespaced,
                        },
                    );
                }
            }
        }
        *self.0.write().expect("lock") = map;
        Ok(())
    }

    pub(super) fn resource(&self, api_version: &str, kind: &str) -> Option<Resource> {
        let (group, version) = split_api_version(api_version);
        self.0
            .read()
            .expect("lock")
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .cloned()
    }

    pub(super) fn serves(&self, group: &str, kind: &str) -> bool {
        self.0
            .read()
            .expect("lock")
            .keys()
            .any(|(g, _, k)| g == group && k == kind)
    }

    pub(super) fn any_version(&self, group: &str, kind: &str) -> Option<Resource> {
        let map = self.0.read().expect("lock");
        map.iter()
            .filter(|((g, _, k), _)| g == group && k == kind)
            .map(|(_, r)| r)
            .min_by_key(|r| (stability(r), r.api.version.clone()))
            .cloned()
    }

    pub(super) fn namespaced_kinds(&self) -> Vec<(String, String)> {
        let map = self.0.read().expect("lock");
        let mut by_gk: BTreeMap<(String, String), &Resource> = BTreeMap::new();
        for ((group, _, kind), r) in map.iter().filter(|(_, r)| r.namespaced) {
            let slot = by_gk.entry((group.clone(), kind.clone())).or_insert(r);
            if stability(r) < stability(slot) {
                *slot = r;
            }
        }
        by_gk
            .values()
            .map(|r| (r.api.api_version.clone(), r.api.kind.clone()))
            .collect()
    }

    pub(super) fn capabilities(&self, version: &str) -> Capabilities {
        let map = self.0.read().expect("lock");
        let mut api_versions: Vec<String> = Vec::new();
        let mut resources = Vec::new();
        for ((group, version, kind), r) in map.iter() {
            let gv = if group.is_empty() {
                version.clone()
            } else {
                format!("{group}/{version}")
            };
            api_versions.push(format!("{gv}/{kind}"));
            api_versions.push(gv);
            resources.push((group.clone(), kind.clone(), r.namespaced));
        }
        api_versions.sort();
        api_versions.dedup();
        resources.sort();
        resources.dedup();
        Capabilities {
            kube_version: Some(version.to_string()),
            api_versions,
            resources,
        }
    }
}
