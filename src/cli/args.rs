//! Flags shared by several commands, and how they turn into library options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use landscape::cluster::ClusterArgs;
use landscape::k8s::Capabilities;
use landscape::ownership;
use landscape::prepare::SourceSettings;
use landscape::stack::{Input, ProfileChoice, StackRequest};

/// How a command prints its result.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Output format: text or json; `plan` also writes dot and mermaid, `lint` sarif.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Never use colour (also: NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
}

impl GlobalArgs {
    /// Text or JSON, for the commands that write nothing else (the others are refused
    /// other formats before they run: see [`Format::check`]).
    pub fn output(&self) -> Output {
        match self.format {
            Format::Json => Output::Json,
            _ => Output::Text,
        }
    }

    pub fn color(&self, terminal: bool) -> bool {
        terminal && !self.no_color && std::env::var_os("NO_COLOR").is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// Every format `-o` takes; each command writes text and JSON, some more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// Graphviz (`plan`).
    Dot,
    /// A Mermaid flowchart (`plan`).
    Mermaid,
    /// SARIF 2.1.0, for code scanning (`lint`).
    Sarif,
}

impl Format {
    /// Refuses a format `command` does not write (exit 2).
    pub fn check(self, command: &str, extra: &[Format]) -> Result<(), landscape::Error> {
        if matches!(self, Format::Text | Format::Json) || extra.contains(&self) {
            return Ok(());
        }
        let name = self
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        let mut takes = vec!["text".to_string(), "json".to_string()];
        takes.extend(
            extra
                .iter()
                .filter_map(|f| f.to_possible_value())
                .map(|v| v.get_name().to_string()),
        );
        Err(landscape::Error::Usage(format!(
            "-o {name}: `{command}` does not write that format (hint: it writes {})",
            takes.join(", ")
        )))
    }
}

/// The environment variable that stands in for `--profile`.
pub const PROFILE_ENV: &str = "LANDSCAPE_PROFILE";

/// Which stack, with which values.
#[derive(Debug, Args, Clone)]
pub struct StackArgs {
    /// A built-in profile: small, medium or large (also: LANDSCAPE_PROFILE, which may not
    /// be combined with a landscape.yaml in the working directory).
    #[arg(long)]
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
    /// Set a value as a string, whatever it looks like (`007`, `true`): component.path=value
    /// (repeatable; applied after --set, as Helm does).
    #[arg(long = "set-string", value_name = "K=V")]
    pub set_string: Vec<String>,
    /// Set a value to a file's text: component.path=FILE (repeatable; applied last, as
    /// Helm does).
    #[arg(long = "set-file", value_name = "K=FILE")]
    pub set_file: Vec<String>,
}

impl StackArgs {
    pub fn request(&self) -> StackRequest {
        let from_env = std::env::var(PROFILE_ENV).ok().filter(|p| !p.is_empty());
        let profile = match (&self.profile, from_env) {
            (Some(p), _) => Some(ProfileChoice {
                name: p.clone(),
                from_env: false,
            }),
            (None, Some(p)) => Some(ProfileChoice {
                name: p,
                from_env: true,
            }),
            (None, None) => None,
        };
        StackRequest {
            profile,
            stack_file: self.stack.clone().map(Input::Path),
            values: self.values.iter().cloned().map(Input::Path).collect(),
            set: self.set.clone(),
            set_string: self.set_string.clone(),
            set_file: self.set_file.clone(),
            working_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    /// True when the flags or the working directory name a stack.
    pub fn names_a_stack(&self) -> bool {
        let req = self.request();
        req.profile.is_some() || landscape::stack::find_stack_file(&req).is_some()
    }
}

/// Naming an installed stack, for the commands that work from what `up` recorded.
#[derive(Debug, Args, Clone, Default)]
pub struct InstalledArgs {
    /// An installed stack, by name: use the stack file, profile and values its last `up`
    /// recorded (as with no flags when it is the only stack installed).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["profile", "stack"])]
    pub installed: Option<String>,
}

impl InstalledArgs {
    /// The name given, checked: a stack name is a DNS label.
    pub fn name(&self) -> Result<Option<&str>, landscape::Error> {
        match self.installed.as_deref() {
            Some(n) if !landscape::k8s::names::is_dns1123_label(n) => {
                Err(landscape::Error::Usage(format!(
                    "--installed `{n}` is not a stack name (hint: `landscape status` lists the installed stacks)"
                )))
            }
            other => Ok(other),
        }
    }
}

/// Which of the stack's components a command is about.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Only these components (comma-separated), with what they need unless --no-needs.
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub only: Vec<String>,
    /// Leave these components out (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub skip: Vec<String>,
    /// With --only: do not add what the selected components need; it must be healthy
    /// already (`up` checks, exit 3).
    #[arg(long, requires = "only")]
    pub no_needs: bool,
}

impl SelectArgs {
    pub fn selection(&self) -> landscape::plan::Selection {
        landscape::plan::Selection {
            only: self.only.clone(),
            skip: self.skip.clone(),
            without_needs: self.no_needs,
        }
    }

    /// The components selected in `plan`, or None when the whole stack is.
    pub fn select(
        &self,
        plan: &landscape::plan::Plan,
        stack: &str,
    ) -> Result<Option<landscape::plan::Selected>, landscape::Error> {
        let selection = self.selection();
        if !selection.is_partial() {
            return Ok(None);
        }
        Ok(Some(plan.select(&selection, stack)?))
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
    pub fn options(&self, capabilities: Capabilities) -> landscape::prepare::Options {
        landscape::prepare::Options {
            sources: self.settings(),
            capabilities,
            image_registry: self.image_registry.clone(),
            placeholders: false,
            report_unfit_charts: false,
        }
    }
}

/// Which cluster.
#[derive(Debug, Args, Clone)]
pub struct KubeArgs {
    /// The kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current context). `up`, `diff` and `status`
    /// take it more than once: the same run on each of those clusters.
    #[arg(long, value_name = "NAME")]
    pub context: Vec<String>,
}

impl KubeArgs {
    /// The one cluster to connect to; connecting is bounded by `timeout` when given.
    pub fn cluster_args(&self, timeout: Option<Duration>) -> Result<ClusterArgs, landscape::Error> {
        if self.context.len() > 1 {
            return Err(landscape::Error::Usage(format!(
                "--context is given {} times, and this command runs on one cluster (hint: only up, diff and status run on several)",
                self.context.len()
            )));
        }
        Ok(ClusterArgs {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.first().cloned(),
            timeout,
        })
    }
}

/// What `up`, `diff` and `down` may remove or take over beyond the default.
#[derive(Debug, Args, Clone)]
pub struct OwnershipArgs {
    /// Let landscape delete CustomResourceDefinitions it lets go of (and every custom
    /// resource of their kinds the stack owns).
    #[arg(long)]
    pub delete_crds: bool,
    /// With --delete-crds: delete them even while custom resources the stack does not own
    /// exist (they go with their CRD).
    #[arg(long, requires = "delete_crds")]
    pub delete_custom_resources: bool,
    /// Let landscape delete PersistentVolumeClaims it lets go of (and their data).
    #[arg(long)]
    pub delete_volumes: bool,
    /// Delete objects that were adopted with --force-conflicts, rather than release them.
    #[arg(long)]
    pub delete_adopted: bool,
}

impl OwnershipArgs {
    pub fn flags(&self, force_conflicts: bool) -> ownership::Flags {
        ownership::Flags {
            force_conflicts,
            delete_crds: self.delete_crds,
            delete_custom_resources: self.delete_custom_resources,
            delete_volumes: self.delete_volumes,
            delete_adopted: self.delete_adopted,
            ..ownership::Flags::default()
        }
    }
}

/// What `up` (and `diff`, predicting it) may do to make a change the API refuses.
#[derive(Debug, Args, Clone)]
pub struct UpgradeArgs {
    /// Replace (delete and create again) objects whose change the API refuses even when
    /// that interrupts a workload or an address: a Deployment's or DaemonSet's selector, a
    /// Service's clusterIP or type. Jobs, role bindings and StatefulSets need no flag.
    #[arg(long)]
    pub allow_replace: bool,
    /// Let a CRD stop serving a version while custom resources of its kind exist.
    #[arg(long)]
    pub allow_crd_version_removal: bool,
}

impl UpgradeArgs {
    pub fn widen(&self, flags: ownership::Flags) -> ownership::Flags {
        ownership::Flags {
            allow_replace: self.allow_replace,
            allow_crd_version_removal: self.allow_crd_version_removal,
            ..flags
        }
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    landscape::duration::parse(s)
}

/// Files as given, with a directory standing for its .yaml and .yml files (sorted, not
/// recursive).
pub fn manifest_files(files: &[PathBuf]) -> Result<Vec<PathBuf>, landscape::Error> {
    let mut out = Vec::new();
    for f in files {
        if !f.is_dir() {
            out.push(f.clone());
            continue;
        }
        let entries = std::fs::read_dir(f).map_err(|e| {
            landscape::Error::Usage(format!("cannot read directory {}: {e}", f.display()))
        })?;
        let mut inside: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        inside.sort();
        out.extend(inside);
    }
    Ok(out)
}
