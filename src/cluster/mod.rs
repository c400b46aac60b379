//! Talking to the cluster: the client from a kubeconfig, a discovery cache, and the few
//! operations everything else is built from (server-side apply, get, list, delete).
//!
//! Objects go in and come out as plain JSON ([`Object`]); this module knows nothing of
//! stacks or templates.

pub mod inventory;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

use crate::object::{Object, ObjectKey, split_api_version};
use crate::render::Capabilities;

/// The field manager landscape applies with. Constant on purpose: renaming a field manager
/// orphans every field the old name owned.
pub const FIELD_MANAGER: &str = "landscape";

/// How to find the cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterArgs {
    /// `--kubeconfig`; else `KUBECONFIG`; else `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot load the kubeconfig{}: {message} (hint: pass --kubeconfig PATH or set KUBECONFIG)", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Kubeconfig {
        path: Option<PathBuf>,
        message: String,
    },
    #[error(
        "cannot reach the cluster at {server}: {message} (hint: check --kubeconfig and --context, and that the API server is running)"
    )]
    Unreachable { server: String, message: String },
    #[error("{action} {object}: {message}")]
    Api {
        action: &'static str,
        object: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

impl ClusterError {
    /// The HTTP status of an API error (0 for transport errors).
    pub fn code(&self) -> u16 {
        match self {
            ClusterError::Api { code, .. } => *code,
            _ => 0,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            ClusterError::Api { reason, .. } => reason,
            _ => "",
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == 404
    }

    /// Errors worth retrying within a timeout: throttling, server errors, dropped
    /// connections, and webhooks or kinds that are not served yet.
    pub fn is_transient(&self) -> bool {
        match self {
            ClusterError::Api { code, message, .. } => {
                matches!(code, 429 | 500 | 502 | 503 | 504)
                    || message.contains("failed calling webhook")
                    || message.contains("failed calling admission webhook")
                    || message.contains("no endpoints available for service")
                    || message.contains("the server could not find the requested resource")
                    || message.contains("etcdserver: leader changed")
                    // A namespace another component creates, a moment later.
                    || (*code == 404 && message.starts_with("namespaces \"") && message.ends_with("not found"))
            }
            ClusterError::Unreachable { .. } => true,
            ClusterError::Other(m) => m.contains("connection") || m.contains("timed out"),
            ClusterError::Kubeconfig { .. } => false,
        }
    }
}

/// One served resource, as discovery describes it.
#[derive(Clone, Debug)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
}

/// A connected cluster.
pub struct Cluster {
    client: kube::Client,
    server: String,
    version: String,
    resources: RwLock<HashMap<(String, String, String), Resource>>,
}

/// Whether an apply is real or a server-side dry run, and whether it takes fields over.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    pub dry_run: bool,
    pub force: bool,
}

impl Cluster {
    /// Loads the kubeconfig, connects, and checks that the API server answers, so that an
    /// unreachable cluster is reported before anything else happens.
    pub async fn connect(args: &ClusterArgs) -> Result<Cluster, ClusterError> {
        let kubeconfig = match &args.kubeconfig {
            Some(p) => Kubeconfig::read_from(p),
            None => Kubeconfig::read(),
        }
        .map_err(|e| ClusterError::Kubeconfig {
            path: args.kubeconfig.clone(),
            message: error_chain(&e),
        })?;
        let opts = KubeConfigOptions {
            context: args.context.clone(),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &opts)
            .await
            .map_err(|e| ClusterError::Kubeconfig {
                path: args.kubeconfig.clone(),
                message: error_chain(&e),
            })?;
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::Kubeconfig {
            path: args.kubeconfig.clone(),
            message: error_chain(&e),
        })?;
        let version = client
            .apiserver_version()
            .await
            .map_err(|e| ClusterError::Unreachable {
                server: server.clone(),
                message: error_chain(&e),
            })?;
        let cluster = Cluster {
            client,
            server,
            version: version.git_version,
            resources: RwLock::new(HashMap::new()),
        };
        cluster.refresh_discovery().await?;
        Ok(cluster)
    }

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
        let discovery = Discovery::new(self.client.clone())
            .run_aggregated()
            .await
            .map_err(|e| ClusterError::Unreachable {
                server: self.server.clone(),
                message: format!("discovery failed: {}", error_chain(&e)),
            })?;
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
        *self.resources.write().expect("lock") = map;
        Ok(())
    }

    /// The served resource for an apiVersion and kind, from the discovery cache.
    pub fn resource(&self, api_version: &str, kind: &str) -> Option<Resource> {
        let (group, version) = split_api_version(api_version);
        self.resources
            .read()
            .expect("lock")
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .cloned()
    }

    /// Whether any version of (group, kind) is served.
    pub fn serves(&self, group: &str, kind: &str) -> bool {
        self.resources
            .read()
            .expect("lock")
            .keys()
            .any(|(g, _, k)| g == group && k == kind)
    }

    /// Any served version of (group, kind), preferring `v1`-like stable ones.
    pub fn resource_any_version(&self, group: &str, kind: &str) -> Option<Resource> {
        let map = self.resources.read().expect("lock");
        let mut found: Vec<&Resource> = map
            .iter()
            .filter(|((g, _, k), _)| g == group && k == kind)
            .map(|(_, r)| r)
            .collect();
        found.sort_by_key(|r| {
            (
                r.api.version.contains("alpha"),
                r.api.version.contains("beta"),
                r.api.version.clone(),
            )
        });
        found.first().map(|r| (*r).clone())
    }

    /// One served version (the most stable) of every namespaced kind that can be listed.
    pub fn namespaced_kinds(&self) -> Vec<(String, String)> {
        let map = self.resources.read().expect("lock");
        let mut by_gk: std::collections::BTreeMap<(String, String), &Resource> = Default::default();
        for ((group, _, kind), r) in map.iter() {
            if !r.namespaced {
                continue;
            }
            let slot = by_gk.entry((group.clone(), kind.clone())).or_insert(r);
            let stability = |r: &Resource| {
                (
                    r.api.version.contains("alpha"),
                    r.api.version.contains("beta"),
                )
            };
            if stability(r) < stability(slot) {
                *slot = r;
            }
        }
        by_gk
            .values()
            .map(|r| (r.api.api_version.clone(), r.api.kind.clone()))
            .collect()
    }

    /// The cluster as the renderer sees it: version, API versions and scopes.
    pub fn capabilities(&self) -> Capabilities {
        let map = self.resources.read().expect("lock");
        let mut api_versions: Vec<String> = Vec::new();
        let mut resources = Vec::new();
        for ((group, version, kind), r) in map.iter() {
            let gv = if group.is_empty() {
                version.clone()
            } else {
                format!("{group}/{version}")
            };
            api_versions.push(gv.clone());
            api_versions.push(format!("{gv}/{kind}"));
            resources.push((group.clone(), kind.clone(), r.namespaced));
        }
        api_versions.sort();
        api_versions.dedup();
        resources.sort();
        resources.dedup();
        Capabilities {
            kube_version: Some(self.version.clone()),
            api_versions,
            resources,
        }
    }

    fn api_for(&self, resource: &Resource, namespace: Option<&str>) -> Api<DynamicObject> {
        match (resource.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &resource.api),
            _ => Api::all_with(self.client.clone(), &resource.api),
        }
    }

    fn resolve(&self, obj: &Object) -> Result<Resource, ClusterError> {
        self.resource(obj.api_version(), obj.kind()).ok_or_else(|| ClusterError::Api {
            action: "resolve",
            object: obj.key().to_string(),
            code: 404,
            reason: "NotFound".into(),
            message: format!(
                "the server does not serve {} {} (no matches for kind; its CRD is not installed)",
                obj.api_version(),
                obj.kind()
            ),
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
        let body = apply_body(obj);
        let action = if opts.dry_run {
            "dry-run apply"
        } else {
            "apply"
        };
        let applied = api
            .patch(obj.name(), &params, &Patch::Apply(&body))
            .await
            .map_err(|e| api_error(action, &obj.key(), e))?;
        Ok(to_object(applied))
    }

    /// The live object, or None.
    pub async fn get(&self, obj: &Object) -> Result<Option<Object>, ClusterError> {
        let resource = match self.resource(obj.api_version(), obj.kind()) {
            Some(r) => r,
            None => return Ok(None),
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
        api.get_opt(name)
            .await
            .map(|o| o.map(to_object))
            .map_err(|e| api_error("get", key, e))
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
        let list = api
            .list(params)
            .await
            .map_err(|e| api_error("list", &key, e))?;
        Ok(list
            .items
            .into_iter()
            .map(|o| typed(to_object(o), &resource))
            .collect())
    }

    /// Deletes an object (background propagation). Returns false if it was already gone.
    pub async fn delete(&self, key: &ObjectKey) -> Result<bool, ClusterError> {
        self.delete_precondition(key, None).await
    }

    /// Deletes an object only if its uid is still `uid`: the object that was checked is
    /// the object that goes, even if someone replaced it in between (409 Conflict then).
    pub async fn delete_if_uid(&self, key: &ObjectKey, uid: &str) -> Result<bool, ClusterError> {
        self.delete_precondition(key, Some(uid)).await
    }

    async fn delete_precondition(
        &self,
        key: &ObjectKey,
        uid: Option<&str>,
    ) -> Result<bool, ClusterError> {
        let Some(resource) = self.resource_any_version(&key.group, &key.kind) else {
            return Ok(false);
        };
        let api = self.api_for(&resource, key.namespace.as_deref());
        let mut params = DeleteParams::background();
        if let Some(uid) = uid {
            params = params.preconditions(kube::api::Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            });
        }
        match api.delete(&key.name, &params).await {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = api_error("delete", key, e);
                if err.is_not_found() {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Sends a raw GET (for paths the typed API does not cover).
    pub async fn get_raw(&self, path: &str) -> Result<Value, ClusterError> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| ClusterError::Other(e.to_string()))?;
        self.client
            .request::<Value>(req)
            .await
            .map_err(|e| ClusterError::Other(error_chain(&e)))
    }

    /// The GroupVersionKind of an object, for messages.
    pub fn gvk(obj: &Object) -> GroupVersionKind {
        GroupVersionKind::gvk(obj.group(), obj.version(), obj.kind())
    }
}

/// The body of an apply: the object without the fields the server owns.
fn apply_body(obj: &Object) -> Value {
    let mut body = obj.0.clone();
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
        ] {
            meta.remove(field);
        }
    }
    if let Some(map) = body.as_object_mut() {
        map.remove("status");
    }
    body
}

/// List items come without apiVersion and kind; put them back so every object knows what
/// it is.
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

fn api_error(action: &'static str, key: &ObjectKey, e: kube::Error) -> ClusterError {
    match e {
        kube::Error::Api(status) => ClusterError::Api {
            action,
            object: key.to_string(),
            code: status.code,
            reason: status.reason.clone(),
            message: status.message.clone(),
        },
        other => ClusterError::Other(format!("{action} {key}: {}", error_chain(&other))),
    }
}

/// An error and its causes on one line: "a: b: c".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
