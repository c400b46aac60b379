//! Connecting: the client configuration from a kubeconfig (or the in-cluster service
//! account), the client itself, and a first request that proves the API server answers —
//! all within one time limit, so a cluster that cannot be reached is reported at once.

use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::discovery::Served;
use super::error::{self, error_chain};
use super::{Cluster, ClusterArgs, ClusterError, USER_AGENT};

/// How long connecting may take when the command sets no limit of its own.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

impl Cluster {
    /// Loads the kubeconfig, connects, and checks that the API server answers, so that an
    /// unreachable cluster is reported before anything else happens. Bounded by
    /// `args.timeout` as a whole: building the client may run a kubeconfig exec plugin,
    /// which is run off the async threads so that a plugin that hangs cannot hang landscape.
    pub async fn connect(args: &ClusterArgs) -> Result<Cluster, ClusterError> {
        let limit = args.timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        match tokio::time::timeout(limit, Self::connect_unbounded(args)).await {
            Ok(result) => result,
            Err(_) => Err(ClusterError::Deadline {
                what: "connecting to the cluster".into(),
                limit,
            }),
        }
    }

    /// [`Cluster::connect`] without its time limit: the client, its version, discovery.
    async fn connect_unbounded(args: &ClusterArgs) -> Result<Cluster, ClusterError> {
        let mut config = config(args).await?;
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        config.write_timeout = Some(Duration::from_secs(60));
        // Retries are landscape's, within its deadlines: kube's default policy would retry
        // throttled requests for many minutes past any timeout the user set.
        config.default_retry = false;
        config.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_static(USER_AGENT),
        ));
        let server = config.cluster_url.to_string();
        let kubeconfig = args.kubeconfig.clone();
        let client = tokio::task::spawn_blocking(move || kube::Client::try_from(config))
            .await
            .map_err(|e| ClusterError::Invalid(format!("building the client: {e}")))?
            .map_err(|e| ClusterError::Kubeconfig {
                path: kubeconfig,
                message: error_chain(&e),
            })?;
        let version = client
            .apiserver_version()
            .await
            .map_err(|e| ClusterError::Unreachable {
                server: server.clone(),
                kind: error::transport_kind(&e),
                message: error_chain(&e),
            })?;
        let cluster = Cluster {
            client,
            server,
            version: version.git_version,
            served: Served::default(),
        };
        cluster.refresh_discovery().await?;
        Ok(cluster)
    }
}

/// The client configuration: the kubeconfig (named, `KUBECONFIG`, `~/.kube/config`), else
/// the in-cluster service account when landscape runs in a pod.
async fn config(args: &ClusterArgs) -> Result<kube::Config, ClusterError> {
    let bad = |message: String| ClusterError::Kubeconfig {
        path: args.kubeconfig.clone(),
        message,
    };
    let kubeconfig = match &args.kubeconfig {
        Some(p) => Some(Kubeconfig::read_from(p).map_err(|e| bad(error_chain(&e)))?),
        None => match Kubeconfig::read() {
            Ok(k) => Some(k),
            Err(_) if in_cluster() && args.context.is_none() => None,
            Err(e) => return Err(bad(error_chain(&e))),
        },
    };
    match kubeconfig {
        Some(k) => {
            let opts = KubeConfigOptions {
                context: args.context.clone(),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(k, &opts)
                .await
                .map_err(|e| bad(error_chain(&e)))
        }
        None => kube::Config::incluster().map_err(|e| bad(error_chain(&e))),
    }
}

/// Where a pod's service-account token is mounted.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Running in a pod: the API server's address is in the environment and the token mounted.
fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        && std::path::Path::new(SERVICE_ACCOUNT_TOKEN).is_file()
}
