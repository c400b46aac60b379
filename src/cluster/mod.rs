//! Talking to the cluster: the client from a kubeconfig (`connect.rs`), a discovery cache,
//! and the few operations everything else is built from (server-side apply, get, list,
//! create, replace, delete), each failing with a classified [`ClusterError`].
//!
//! Objects go in and come out as plain JSON ([`Object`]); this module knows nothing of
//! stacks, templates or the engine.

mod access;
mod connect;
mod discovery;
pub mod error;
pub mod lease;
pub mod retry;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::Value;

pub use discovery::Resource;
pub use error::{ApiStatus, ClusterError, TransportKind};

use crate::k8s::{Capabilities, Object, ObjectKey};
use discovery::Served;
use error::{error_chain, from_kube};

/// The field manager landscape applies with. Constant on purpose: renaming a field manager
/// orphans every field the old name owned.
pub const FIELD_MANAGER: &str = "landscape";

/// The User-Agent of every request, so that audit logs tell landscape's requests apart.
pub const USER_AGENT: &str = concat!("landscape/", env!("CARGO_PKG_VERSION"));

/// How to find the cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterArgs {
    /// `--kubeconfig`; else `KUBECONFIG`; else `~/.kube/config`; else the in-cluster
    /// service account, when landscape runs in a pod.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Bounds connecting (a kubeconfig exec plugin that hangs, a silent server).
    pub timeout: Option<Duration>,
}

/// A connected cluster.
pub struct Cluster {
    client: kube::Client,
    server: String,
    version: String,
    served: Served,
}

/// Whether an apply is real or a server-side dry run, and whether it takes fields over.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    pub dry_run: bool,
    pub force: bool,
}

impl Cluster {
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The server's version (`v1.36.3`).
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Re-reads the served resources. Needed after CRDs are installed: discovery lags
    /// behind a CRD's Established condition, with no condition to wait for.
    pub async fn refresh_discovery(&self) -> Result<(), ClusterError> {
        self.served
            .refresh(&self.client)
            .await
            .map_err(|e| ClusterError::Transport {
                action: "discover",
                object: format!("the APIs of {}", self.server),
                kind: match &e {
                    kube::Error::Api(s) if error::api_status(s).code >= 500 => {
                        TransportKind::Broken
                    }
                    other => error::transport_kind(other),
                },
                message: error_chain(&e),
            })
    }

    /// The served resource for an apiVersion and kind, from the discovery cache.
    pub fn resource(&self, api_version: &str, kind: &str) -> Option<Resource> {
        self.served.resource(api_version, kind)
    }

    /// Whether any version of (group, kind) is served.
    pub fn serves(&self, group: &str, kind: &str) -> bool {
        self.served.serves(group, kind)
    }

    /// Any served version of (group, kind), preferring stable ones.
    pub fn resource_any_version(&self, group: &str, kind: &str) -> Option<Resource> {
        self.served.any_version(group, kind)
    }

    /// One served version (the most stable) of every namespaced kind.
    pub fn namespaced_kinds(&self) -> Vec<(String, String)> {
        self.served.namespaced_kinds()
    }

    /// The cluster as the renderer sees it: version, API versions and scopes.
    pub fn capabilities(&self) -> Capabilities {
        self.served.capabilities(&self.version)
    }

    fn api_for(&self, resource: &Resource, namespace: Option<&str>) -> Api<DynamicObject> {
        match (resource.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &resource.api),
            _ => Api::all_with(self.client.clone(), &resource.api),
        }
    }

    fn resolve(&self, obj: &Object) -> Result<Resource, ClusterError> {
        self.resource(obj.api_version(), obj.kind())
            .ok_or_else(|| ClusterError::NotServed {
                object: obj.key().to_string(),
                api_version: obj.api_version().to_string(),
                kind: obj.kind().to_string(),
            })
    }

    /// Server-side apply with landscape's field manager.
    pub async fn apply(&self, obj: &Object, opts: ApplyOptions) -> Result<Object, ClusterError> {
        let resource = self.resolve(obj)?;
        let api = self.api_for(&resource, obj.namespace());
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if opts.force {
            params = params.force();
        }
        if opts.dry_run {
            params = params.dry_run();
        }
        let action = if opts.dry_run {
            "dry-run apply"
        } else {
            "apply"
        };
        let applied = api
            .patch(obj.name(), &params, &Patch::Apply(&obj.apply_body()))
            .await
            .map_err(|e| from_kube(action, &obj.key(), e))?;
        Ok(to_object(applied))
    }

    /// Creates an object (fails with 409 if it exists).
    pub async fn create(&self, obj: &Object) -> Result<Object, ClusterError> {
        let resource = self.resolve(obj)?;
        let api = self.api_for(&resource, obj.namespace());
        let body: DynamicObject =
            serde_json::from_value(obj.apply_body()).map_err(|e| invalid_body(obj, e))?;
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        api.create(&params, &body)
            .await
            .map(to_object)
            .map_err(|e| from_kube("create", &obj.key(), e))
    }

    /// Replaces an object whose `metadata.resourceVersion` says which version it replaces:
    /// fails with 409 when someone else wrote it since (optimistic concurrency).
    pub async fn replace(&self, obj: &Object) -> Result<Object, ClusterError> {
        let resource = self.resolve(obj)?;
        let api = self.api_for(&resource, obj.namespace());
        let mut value = obj.0.clone();
        if let Some(map) = value.as_object_mut() {
            map.remove("status");
        }
        let body: DynamicObject =
            serde_json::from_value(value).map_err(|e| invalid_body(obj, e))?;
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        api.replace(obj.name(), &params, &body)
            .await
            .map(to_object)
            .map_err(|e| from_kube("replace", &obj.key(), e))
    }

    /// The live object, or None.
    pub async fn get(&self, obj: &Object) -> Result<Option<Object>, ClusterError> {
        let Some(resource) = self.resource(obj.api_version(), obj.kind()) else {
            return Ok(None);
        };
        self.get_with(&resource, obj.namespace(), obj.name(), &obj.key())
            .await
    }

    /// The live object named by `key`, at any served version of its kind.
    pub async fn get_key(&self, key: &ObjectKey) -> Result<Option<Object>, ClusterError> {
        let Some(resource) = self.resource_any_version(&key.group, &key.kind) else {
            return Ok(None);
        };
        self.get_with(&resource, key.namespace.as_deref(), &key.name, key)
            .await
    }

    async fn get_with(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        key: &ObjectKey,
    ) -> Result<Option<Object>, ClusterError> {
        let api = self.api_for(resource, namespace);
        read_retrying(|| async {
            api.get_opt(name)
                .await
                .map(|o| o.map(|o| typed(to_object(o), resource)))
                .map_err(|e| from_kube("get", key, e))
        })
        .await
    }

    /// Objects of a kind matching a label selector, in a namespace or everywhere.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Object>, ClusterError> {
        let mut params = ListParams::default();
        if !selector.is_empty() {
            params = params.labels(selector);
        }
        let what = format!("(selector {selector})");
        self.list_with(api_version, kind, namespace, &params, what)
            .await
    }

    /// Lists with a field selector (events of one object).
    pub async fn list_fields(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        fields: &str,
    ) -> Result<Vec<Object>, ClusterError> {
        let params = ListParams::default().fields(fields);
        let what = format!("(fields {fields})");
        self.list_with(api_version, kind, namespace, &params, what)
            .await
    }

    /// How many objects of a kind exist (everywhere), reading one page of names only.
    pub async fn count(&self, api_version: &str, kind: &str) -> Result<usize, ClusterError> {
        let params = ListParams::default().limit(500);
        let what = "(count)".to_string();
        Ok(self
            .list_with(api_version, kind, None, &params, what)
            .await?
            .len())
    }

    /// `what` stands in for the object name in errors.
    async fn list_with(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        params: &ListParams,
        what: String,
    ) -> Result<Vec<Object>, ClusterError> {
        let Some(resource) = self.resource(api_version, kind) else {
            return Ok(Vec::new());
        };
        let api = self.api_for(&resource, namespace);
        let key = ObjectKey {
            group: resource.api.group.clone(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: what,
        };
        let list = read_retrying(|| async {
            api.list(params)
                .await
                .map_err(|e| from_kube("list", &key, e))
        })
        .await?;
        Ok(list
            .items
            .into_iter()
            .map(|o| typed(to_object(o), &resource))
            .collect())
    }

    /// Deletes an object (background propagation). Returns false if it was already gone.
    pub async fn delete(&self, key: &ObjectKey) -> Result<bool, ClusterError> {
        self.delete_with(key, None, DeleteParams::background())
            .await
    }

    /// Deletes an object only if its uid is still `uid`: the object that was checked is
    /// the object that goes, even if someone replaced it in between (409 Conflict then).
    pub async fn delete_if_uid(&self, key: &ObjectKey, uid: &str) -> Result<bool, ClusterError> {
        self.delete_with(key, Some(uid), DeleteParams::background())
            .await
    }

    /// Deletes an object but not what it owns (its pods, a StatefulSet's claims stay).
    pub async fn delete_orphaning(
        &self,
        key: &ObjectKey,
        uid: Option<&str>,
    ) -> Result<bool, ClusterError> {
        self.delete_with(key, uid, DeleteParams::orphan()).await
    }

    async fn delete_with(
        &self,
        key: &ObjectKey,
        uid: Option<&str>,
        mut params: DeleteParams,
    ) -> Result<bool, ClusterError> {
        let Some(resource) = self.resource_any_version(&key.group, &key.kind) else {
            return Ok(false);
        };
        let api = self.api_for(&resource, key.namespace.as_deref());
        if let Some(uid) = uid {
            params = params.preconditions(kube::api::Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            });
        }
        match api.delete(&key.name, &params).await {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = from_kube("delete", key, e);
                if err.is_not_found() {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }
}

/// How long a read keeps retrying transient errors (an API server restarting, a cache
/// warming up after a CRD appears, throttling) before its caller sees the error.
const READ_RETRIES_FOR: Duration = Duration::from_secs(60);

/// Reads are idempotent: retried here, once for every caller, within a bound.
async fn read_retrying<T, F, Fut>(call: F) -> Result<T, ClusterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClusterError>>,
{
    retry::retrying(retry::deadline_in(READ_RETRIES_FOR), async |_| {}, call).await
}

fn invalid_body(obj: &Object, e: serde_json::Error) -> ClusterError {
    ClusterError::Invalid(format!("{}: not a Kubernetes object: {e}", obj.key()))
}

/// Items of a list, and objects read at another version than asked, carry the apiVersion
/// and kind of the resource they were read through.
fn typed(mut obj: Object, resource: &Resource) -> Object {
    if let Some(map) = obj.0.as_object_mut() {
        map.insert(
            "apiVersion".into(),
            Value::String(resource.api.api_version.clone()),
        );
        map.insert("kind".into(), Value::String(resource.api.kind.clone()));
    }
    obj
}

fn to_object(d: DynamicObject) -> Object {
    Object(serde_json::to_value(d).expect("objects serialise"))
}

impl Cluster {
    /// The live object behind every one of `objects` (None when absent, or when its kind
    /// is not served): one LIST per kind and namespace for those carrying `selector` (the
    /// stack's members), then a GET for each object the lists did not return.
    pub async fn read_all(
        &self,
        objects: &[&Object],
        selector: &str,
    ) -> Result<BTreeMap<ObjectKey, Option<Object>>, ClusterError> {
        use futures::{StreamExt, TryStreamExt};
        const PARALLEL: usize = 16;
        let served: Vec<&Object> = objects
            .iter()
            .copied()
            .filter(|o| self.resource(o.api_version(), o.kind()).is_some())
            .collect();
        let groups: BTreeSet<(&str, &str, Option<&str>)> = served
            .iter()
            .map(|o| (o.api_version(), o.kind(), o.namespace()))
            .collect();
        let lists: Vec<Vec<Object>> = futures::stream::iter(groups)
            .map(|(api, kind, ns)| self.list(api, kind, ns, selector))
            .buffered(PARALLEL)
            .try_collect()
            .await?;
        let mut lives: BTreeMap<ObjectKey, Option<Object>> = BTreeMap::new();
        for o in lists.into_iter().flatten() {
            lives.insert(o.key(), Some(o));
        }
        let missing: Vec<&Object> = served
            .into_iter()
            .filter(|o| !lives.contains_key(&o.key()))
            .collect();
        let fetched: Vec<Option<Object>> = futures::stream::iter(missing.iter().copied())
            .map(|o| self.get(o))
            .buffered(PARALLEL)
            .try_collect()
            .await?;
        for (o, live) in missing.iter().zip(fetched) {
            lives.insert(o.key(), live);
        }
        for o in objects {
            lives.entry(o.key()).or_insert(None);
        }
        Ok(lives)
    }
}

impl Cluster {
    /// A JSON merge patch (RFC 7386) with landscape's field manager: for the few changes
    /// landscape makes to objects outside a full apply (dropping its labels from an object
    /// it releases, keeping a StatefulSet's claims).
    pub async fn merge_patch(
        &self,
        key: &ObjectKey,
        patch: &Value,
    ) -> Result<Object, ClusterError> {
        let Some(resource) = self.resource_any_version(&key.group, &key.kind) else {
            return Err(ClusterError::NotServed {
                object: key.to_string(),
                api_version: key.group.clone(),
                kind: key.kind.clone(),
            });
        };
        let api = self.api_for(&resource, key.namespace.as_deref());
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        api.patch(&key.name, &params, &Patch::Merge(patch))
            .await
            .map(to_object)
            .map_err(|e| from_kube("patch", key, e))
    }

    /// A JSON merge patch of an object's status subresource (a CRD's `storedVersions`).
    pub async fn merge_patch_status(
        &self,
        key: &ObjectKey,
        patch: &Value,
    ) -> Result<Object, ClusterError> {
        let Some(resource) = self.resource_any_version(&key.group, &key.kind) else {
            return Err(ClusterError::NotServed {
                object: key.to_string(),
                api_version: key.group.clone(),
                kind: key.kind.clone(),
            });
        };
        let api = self.api_for(&resource, key.namespace.as_deref());
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        api.patch_status(&key.name, &params, &Patch::Merge(patch))
            .await
            .map(to_object)
            .map_err(|e| from_kube("patch status of", key, e))
    }
}
