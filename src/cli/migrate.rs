//! `landscape migrate-storage CRD`: rewrites a CRD's custom resources at its storage
//! version and trims `status.storedVersions`, so that a new definition may drop the old
//! versions.

use clap::Args;

use landscape::ExitCode;

use super::args::{KubeArgs, parse_duration};
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape migrate-storage widgets.example.com
  landscape migrate-storage certificates.cert-manager.io -o json --timeout 10m")]
pub struct MigrateArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    /// The CustomResourceDefinition, by name (`PLURAL.GROUP`).
    #[arg(value_name = "CRD")]
    pub crd: String,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Give up (exit 4) when the migration has not finished within this.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,
}

pub async fn run(args: MigrateArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    if !landscape::k8s::names::is_dns1123_subdomain(&args.crd) || !args.crd.contains('.') {
        return Err(landscape::Error::Usage(format!(
            "`{}` is not the name of a CustomResourceDefinition (hint: PLURAL.GROUP, as `kubectl get crd` lists them)",
            args.crd
        ))
        .into());
    }
    let cluster = landscape::cluster::Cluster::connect(&args.kube.cluster_args(args.timeout)?)
        .await
        .map_err(landscape::Error::from)?;
    let m = landscape::engine::migrate::migrate_storage(&cluster, &args.crd)
        .await
        .map_err(landscape::Error::from)?;
    match global.output() {
        Output::Json => println!("{}", serde_json::to_string_pretty(&m)?),
        Output::Text => println!(
            "{}: {} custom resources rewritten at {}; storedVersions [{}] -> [{}]",
            m.crd,
            m.rewritten,
            m.storage_version,
            m.stored_versions_before.join(", "),
            m.stored_versions_after.join(", ")
        ),
    }
    Ok(ExitCode::Success)
}
