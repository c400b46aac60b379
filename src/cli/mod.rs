//! The command line: clap types, shared flags, and one small module per subcommand that
//! turns flags into a library call and the result into output and an exit code.

mod bundle;
mod diff;
mod down;
mod images;
mod installed;
mod lock;
mod plan;
mod profiles;
mod render;
mod status;
mod up;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use landscape::ExitCode;
use landscape::cluster::ClusterArgs;
use landscape::prepare::SourceSettings;
use landscape::stack::StackRequest;

/// Takes a bare Kubernetes cluster to a production-grade platform in one command.
#[derive(Debug, Parser)]
#[command(
    name = "landscape",
    version,
    about,
    max_term_width = 100,
    after_help = "Exit codes: 0 success; 1 differences found (diff); 2 invalid input or usage; \
                  3 a health gate failed or timed out; 4 cluster or API error; 5 artifact error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// How a command prints its result.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Never use colour (also: NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in profiles, or show one.
    Profiles(profiles::ProfilesArgs),
    /// Show the dependency graph: order, needs and the critical path.
    Plan(plan::PlanArgs),
    /// Render every object the stack would apply (multi-document YAML, or one folder per component).
    Render(render::RenderArgs),
    /// Install the stack: apply each component in dependency order, gated on health.
    Up(up::UpArgs),
    /// Show what `up` would change: per component, create, update (with a diff), delete.
    Diff(diff::DiffArgs),
    /// Show the health of installed stacks, component by component.
    Status(status::StatusArgs),
    /// Uninstall a stack: everything it owns, dependents first, namespaces last.
    Down(down::DownArgs),
    /// Write landscape.lock: every artifact and chart with its digest, every image.
    Lock(lock::LockArgs),
    /// Write every artifact of the stack into a directory, for installing with no network.
    Bundle(bundle::BundleArgs),
    /// List every container image the stack uses.
    Images(images::ImagesArgs),
}

/// Which stack, with which values.
#[derive(Debug, Args, Clone)]
pub struct StackArgs {
    /// A built-in profile: small, medium or large.
    #[arg(long, env = "LANDSCAPE_PROFILE")]
    pub profile: Option<String>,
    /// A stack file (default: landscape.yaml in the working directory, when present).
    #[arg(long)]
    pub stack: Option<PathBuf>,
    /// A values file (repeatable; later files win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set a value: component.path=value (repeatable; wins over values files).
    #[arg(long = "set", value_name = "K=V")]
    pub set: Vec<String>,
}

impl StackArgs {
    pub fn request(&self) -> StackRequest {
        StackRequest {
            profile: self.profile.clone(),
            stack_file: self.stack.clone(),
            values_files: self.values.clone(),
            set: self.set.clone(),
            working_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            sources_dir: None,
        }
    }
}

/// Where artifacts come from.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// Fetch artifacts from a mirror: https://HOST/PATH is read from URL/HOST/PATH
    /// (an http(s) URL, file:///DIR or a directory).
    #[arg(long, env = "LANDSCAPE_MIRROR", value_name = "URL")]
    pub mirror: Option<String>,
    /// Refuse any artifact missing from landscape.lock or whose digest differs.
    #[arg(long)]
    pub locked: bool,
    /// Rewrite every image to this registry (HOST[/PREFIX]).
    #[arg(long, value_name = "HOST[/PREFIX]")]
    pub image_registry: Option<String>,
}

impl SourceArgs {
    pub fn settings(&self) -> SourceSettings {
        SourceSettings {
            mirror: self.mirror.clone().filter(|m| !m.is_empty()),
            cache_dir: std::env::var_os("LANDSCAPE_CACHE_DIR").map(PathBuf::from),
            locked: self.locked,
        }
    }

    /// Options for [`landscape::prepare::prepare`].
    pub fn options(
        &self,
        capabilities: landscape::render::Capabilities,
    ) -> landscape::prepare::Options {
        landscape::prepare::Options {
            sources: self.settings(),
            capabilities,
            image_registry: self.image_registry.clone(),
            placeholders: false,
        }
    }
}

/// Which cluster.
#[derive(Debug, Args, Clone)]
pub struct KubeArgs {
    /// The kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl KubeArgs {
    pub fn cluster_args(&self) -> ClusterArgs {
        ClusterArgs {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    landscape::duration::parse(s)
}

/// Runs a command that only reads the cluster within `limit`, if one is given: past it, the
/// command ends with a cluster error (exit 4), as a cluster that does not answer is one.
async fn within(
    limit: Option<Duration>,
    command: &str,
    run: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    let Some(limit) = limit else {
        return run.await;
    };
    tokio::time::timeout(limit, run).await.unwrap_or_else(|_| {
        Err(landscape::Error::Cluster(landscape::cluster::ClusterError::Other(format!(
            "{command} did not finish within {} (hint: a slow or unreachable cluster; raise --timeout)",
            landscape::duration::format(limit)
        )))
        .into())
    })
}

/// Runs a command; returns the exit code for successful runs (diff may return 1).
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Profiles(args) => {
            let out = args.output.clone();
            profiles::run(args, &out)
        }
        Command::Plan(args) => {
            let out = args.output.clone();
            plan::run(args, &out)
        }
        Command::Render(args) => {
            let out = args.output.clone();
            render::run(args, &out).await
        }
        Command::Up(args) => {
            let out = args.output.clone();
            up::run(args, &out).await
        }
        Command::Lock(args) => {
            let out = args.output.clone();
            lock::run(args, &out).await
        }
        Command::Bundle(args) => bundle::run(args).await,
        Command::Diff(args) => {
            let out = args.output.clone();
            within(args.timeout, "diff", diff::run(args, &out)).await
        }
        Command::Status(args) => {
            let out = args.output.clone();
            within(args.timeout, "status", status::run(args, &out)).await
        }
        Command::Down(args) => {
            let out = args.output.clone();
            down::run(args, &out).await
        }
        Command::Images(args) => {
            let out = args.output.clone();
            images::run(args, &out).await
        }
    }
}
