//! What a stack pins: the lock a prepared stack is described by, where the lock lives, and
//! whether a lock covers a stack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Prepared;
use crate::render::{self, RenderedComponent};
use crate::source::{self, Lock, SourceError};
use crate::stack::{Input, Source, Stack, StackRequest};

/// Where the stack's lock lives: beside its stack file (where the file was, for a stack
/// replayed from the cluster), else in the working directory.
pub fn lock_path(stack: &Stack, req: &StackRequest) -> PathBuf {
    let recorded = req.stack_file.as_ref().map(Input::path);
    source::lock_path(recorded.or(stack.file.as_deref()), &req.working_dir)
}

/// Checks without any download that the lock covers every artifact the stack declares and
/// agrees with every digest the stack pins (what `plan --locked` does).
pub fn check_lock_covers(stack: &Stack, lock: &Lock, path: &Path) -> Result<(), crate::Error> {
    for s in stack.components.iter().flat_map(|c| &c.sources) {
        match s {
            Source::Url { url, sha256, .. } => {
                lock.pinned_digest(url, sha256.as_deref(), path)?;
            }
            Source::Chart(spec)
                if lock
                    .chart(&spec.repository, &spec.name, &spec.version)
                    .is_none() =>
            {
                return Err(SourceError::NotLocked {
                    url: format!(
                        "chart {} {} from {}",
                        spec.name, spec.version, spec.repository
                    ),
                    lock: path.to_path_buf(),
                }
                .into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// The lock describing a prepared stack.
pub fn lock_of(prepared: &Prepared) -> Lock {
    let mut lock = Lock::new(&prepared.stack.name);
    for a in prepared.artifacts.manifests() {
        let users: Vec<&crate::stack::Component> = prepared
            .stack
            .components
            .iter()
            .filter(|c| {
                c.sources
                    .iter()
                    .any(|s| matches!(s, Source::Url { url, .. } if *url == a.url))
            })
            .collect();
        lock.artifacts.push(source::lock::LockedArtifact {
            url: a.url.clone(),
            components: users.iter().map(|c| c.name.clone()).collect(),
            version: users.first().and_then(|c| c.version.clone()),
            sha256: a.sha256.clone(),
        });
    }
    for c in prepared.artifacts.charts() {
        lock.charts.push(source::lock::LockedChart {
            repository: c.repository.clone(),
            name: c.name.clone(),
            version: c.version.clone(),
            url: c.url.clone(),
            digest: c.archive.sha256.clone(),
        });
    }
    lock.images = images(&prepared.rendered)
        .into_iter()
        .map(|(image, _)| image)
        .collect();
    lock
}

/// Every image of the rendered stack with the components that use it, sorted.
pub fn images(rendered: &[RenderedComponent]) -> Vec<(String, Vec<String>)> {
    let mut by_image: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rendered {
        for obj in &r.objects {
            for image in render::images::images(obj) {
                let users = by_image.entry(image).or_default();
                if !users.contains(&r.name) {
                    users.push(r.name.clone());
                }
            }
        }
    }
    by_image.into_iter().collect()
}

/// Under `--locked`: every image the stack renders must be in the lock. An image the lock
/// resolved to a digest (`lock --resolve-images`) is pinned to it — what runs is exactly
/// what was locked, whatever the tag points at now; an image the lock has no entry for is
/// refused, as is one written with a digest the lock does not hold.
pub fn pin_images(
    rendered: &mut [RenderedComponent],
    lock: &Lock,
    path: &Path,
) -> Result<(), SourceError> {
    let mut missing: Vec<String> = Vec::new();
    for obj in rendered.iter_mut().flat_map(|r| r.objects.iter_mut()) {
        for image in render::images::images(obj) {
            if lock.image(&image).is_none() && !missing.contains(&image) {
                missing.push(image);
            }
        }
        render::images::rewrite(obj, &|image| {
            lock.image(image)
                .filter(|locked| *locked != image)
                .map(str::to_string)
        });
    }
    match missing.first() {
        None => Ok(()),
        Some(_) => Err(SourceError::NotLocked {
            url: format!("image {}", missing.join(", image ")),
            lock: path.to_path_buf(),
        }),
    }
}
