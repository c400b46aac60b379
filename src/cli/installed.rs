//! Finding the stack a command is about, among the stacks installed in the cluster.

use landscape::Error;
use landscape::cluster::Cluster;
use landscape::inventory::Inventory;
use landscape::stack::{Input, StackRequest};

use super::args::{InstalledArgs, StackArgs};

/// How the flags name a stack, if they do.
enum Named<'a> {
    /// `--installed NAME`: a stack in the cluster, by name.
    Installed(&'a str),
    /// A profile, a stack file or landscape.yaml in the working directory.
    Stack,
    /// Nothing: the only installed stack, or all of them.
    Nothing,
}

fn named<'a>(args: &StackArgs, installed: &'a InstalledArgs) -> Result<Named<'a>, Error> {
    Ok(match installed.name()? {
        Some(name) => Named::Installed(name),
        None if args.names_a_stack() => Named::Stack,
        None => Named::Nothing,
    })
}

/// True when the flags name a stack to be loaded from files (not `--installed`).
pub fn names_stack_files(args: &StackArgs, installed: &InstalledArgs) -> bool {
    installed.installed.is_none() && args.names_a_stack()
}

async fn by_name(cluster: &Cluster, name: &str) -> Result<Inventory, Error> {
    Inventory::load(cluster, name)
        .await?
        .ok_or_else(|| Error::NotInstalled(name.to_string()))
}

/// The inventories a command applies to: the named stack's, or every installed one.
pub async fn inventories(
    args: &StackArgs,
    installed: &InstalledArgs,
    cluster: &Cluster,
) -> Result<Vec<Inventory>, Error> {
    match named(args, installed)? {
        Named::Installed(name) => Ok(vec![by_name(cluster, name).await?]),
        Named::Stack => {
            let loaded = landscape::prepare::load(&args.request())?;
            Ok(Inventory::load(cluster, &loaded.stack.name)
                .await?
                .into_iter()
                .collect())
        }
        Named::Nothing => Ok(Inventory::list(cluster).await?),
    }
}

/// The one installed stack a command is about (named, or the only one installed).
pub async fn one(
    args: &StackArgs,
    installed: &InstalledArgs,
    cluster: &Cluster,
) -> Result<Inventory, Error> {
    match named(args, installed)? {
        Named::Installed(name) => by_name(cluster, name).await,
        Named::Stack => {
            let name = landscape::prepare::load(&args.request())?.stack.name;
            by_name(cluster, &name).await
        }
        Named::Nothing => {
            let all = Inventory::list(cluster).await?;
            match all.len() {
                0 => Err(Error::Usage(
                    "no landscape stack is installed in this cluster (hint: name one with --profile or --stack)"
                        .into(),
                )),
                1 => Ok(all.into_iter().next().expect("one")),
                _ => Err(Error::Usage(format!(
                    "several stacks are installed ({}); name one with --installed NAME, --profile or --stack",
                    all.iter()
                        .map(|i| i.stack().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
    }
}

/// The request for a command: from the flags and landscape.yaml when they name a stack,
/// else rebuilt from what the last `up` recorded in the cluster — with any `-f` and
/// `--set` given now on top — together with that record.
pub async fn request_or_recorded(
    args: &StackArgs,
    installed: &InstalledArgs,
    cluster: &Cluster,
) -> Result<(StackRequest, Option<Inventory>), Error> {
    if names_stack_files(args, installed) {
        return Ok((args.request(), None));
    }
    let inv = one(args, installed, cluster).await?;
    let values = args.values.iter().cloned().map(Input::Path).collect();
    let mut req = landscape::prepare::request_from(&inv, values, args.set.clone());
    req.set_string.extend(args.set_string.iter().cloned());
    // The replayed request reads files from nowhere in particular: paths given now are
    // made absolute first.
    let cwd = std::env::current_dir().unwrap_or_default();
    req.set_file = args
        .set_file
        .iter()
        .map(|arg| {
            landscape::stack::values::split_assignments(arg)
                .into_iter()
                .map(|(k, path)| {
                    let path = cwd.join(path).display().to_string();
                    format!("{k}={}", path.replace(',', "\\,"))
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    Ok((req, Some(inv)))
}
