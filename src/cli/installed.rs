//! Finding the stack a command is about, among the stacks installed in the cluster.

use std::path::PathBuf;

use landscape::Error;
use landscape::cluster::Cluster;
use landscape::cluster::inventory::Inventory;
use landscape::stack::StackRequest;

use super::StackArgs;

/// True when the flags or the working directory name a stack.
pub fn names_a_stack(args: &StackArgs) -> bool {
    let req = args.request();
    req.profile.is_some() || landscape::stack::find_stack_file(&req).is_some()
}

/// The inventories a command applies to: the named stack's, or every installed one.
pub async fn inventories(args: &StackArgs, cluster: &Cluster) -> Result<Vec<Inventory>, Error> {
    if names_a_stack(args) {
        let (stack, _) = landscape::prepare::load(&args.request())?;
        return Ok(Inventory::load(cluster, &stack.name)
            .await?
            .into_iter()
            .collect());
    }
    Ok(Inventory::list(cluster).await?)
}

/// The one installed stack a command is about (named, or the only one installed).
pub async fn one(args: &StackArgs, cluster: &Cluster) -> Result<Inventory, Error> {
    let name = if names_a_stack(args) {
        Some(landscape::prepare::load(&args.request())?.0.name)
    } else {
        None
    };
    let all = Inventory::list(cluster).await?;
    match name {
        Some(n) => all.into_iter().find(|i| i.stack == n).ok_or_else(|| {
            Error::Usage(format!(
                "stack `{n}` is not installed in this cluster (hint: `landscape status` lists what is)"
            ))
        }),
        None => match all.len() {
            0 => Err(Error::Usage("no landscape stack is installed in this cluster".into())),
            1 => Ok(all.into_iter().next().expect("one")),
            _ => Err(Error::Usage(format!(
                "several stacks are installed ({}); name one with --profile or --stack",
                all.iter().map(|i| i.stack.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        },
    }
}

/// The request for a command: from the flags and landscape.yaml when they name a stack,
/// else rebuilt from what the last `up` recorded in the cluster (files written to a
/// temporary directory, kept alive by the returned guard).
pub async fn request_or_recorded(
    args: &StackArgs,
    cluster: &Cluster,
) -> Result<(StackRequest, Option<tempfile::TempDir>), Error> {
    if names_a_stack(args) {
        return Ok((args.request(), None));
    }
    let inv = one(args, cluster).await?;
    let dir = tempfile::tempdir()
        .map_err(|e| Error::Usage(format!("cannot create a temporary directory: {e}")))?;
    let write = |name: &str, text: &str| -> Result<PathBuf, Error> {
        let path = dir.path().join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    };
    // Under its own name (which may be the stack's name), its sources where they were.
    let original = inv.inputs.stack_path.as_deref().map(PathBuf::from);
    let file_name = original.as_deref().and_then(|p| p.file_name()).map_or_else(
        || "landscape.yaml".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let stack_file = inv
        .inputs
        .stack_file
        .as_deref()
        .map(|t| write(&file_name, t))
        .transpose()?;
    let mut values_files = Vec::new();
    for (i, text) in inv.inputs.values_files.iter().enumerate() {
        values_files.push(write(&format!("values-{i}.yaml"), text)?);
    }
    let req = StackRequest {
        profile: if stack_file.is_some() {
            None
        } else {
            inv.inputs.profile.clone()
        },
        stack_file,
        values_files,
        set: inv.inputs.set.clone(),
        working_dir: dir.path().to_path_buf(),
        sources_dir: original
            .as_deref()
            .and_then(|p| p.parent())
            .map(PathBuf::from),
    };
    Ok((req, Some(dir)))
}
