//! Finding the stack a command is about, among the stacks installed in the cluster.

use landscape::Error;
use landscape::cluster::Cluster;
use landscape::inventory::Inventory;
use landscape::stack::{Input, StackRequest};

use super::args::StackArgs;

/// The inventories a command applies to: the named stack's, or every installed one.
pub async fn inventories(args: &StackArgs, cluster: &Cluster) -> Result<Vec<Inventory>, Error> {
    if args.names_a_stack() {
        let loaded = landscape::prepare::load(&args.request())?;
        return Ok(Inventory::load(cluster, &loaded.stack.name)
            .await?
            .into_iter()
            .collect());
    }
    Ok(Inventory::list(cluster).await?)
}

/// The one installed stack a command is about (named, or the only one installed).
pub async fn one(args: &StackArgs, cluster: &Cluster) -> Result<Inventory, Error> {
    if args.names_a_stack() {
        let name = landscape::prepare::load(&args.request())?.stack.name;
        return Inventory::load(cluster, &name)
            .await?
            .ok_or(Error::NotInstalled(name));
    }
    let all = Inventory::list(cluster).await?;
    match all.len() {
        0 => Err(Error::Usage(
            "no landscape stack is installed in this cluster (hint: name one with --profile or --stack)"
                .into(),
        )),
        1 => Ok(all.into_iter().next().expect("one")),
        _ => Err(Error::Usage(format!(
            "several stacks are installed ({}); name one with --profile or --stack",
            all.iter()
                .map(|i| i.stack().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The request for a command: from the flags and landscape.yaml when they name a stack,
/// else rebuilt from what the last `up` recorded in the cluster — with any `-f` and
/// `--set` given now on top — together with that record.
pub async fn request_or_recorded(
    args: &StackArgs,
    cluster: &Cluster,
) -> Result<(StackRequest, Option<Inventory>), Error> {
    if args.names_a_stack() {
        return Ok((args.request(), None));
    }
    let inv = one(args, cluster).await?;
    let values = args.values.iter().cloned().map(Input::Path).collect();
    let req = landscape::prepare::request_from(&inv, values, args.set.clone());
    Ok((req, Some(inv)))
}
