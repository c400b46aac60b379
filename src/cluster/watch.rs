//! Knowing the moment something changes: watches, used as wake-up calls by the health
//! gates (which then read and assess as always), so a component is found healthy within
//! moments of being so instead of at the next poll.

use futures::stream::BoxStream;
use futures::{StreamExt, future};
use kube::runtime::{WatchStreamExt, watcher};

use super::Cluster;

impl Cluster {
    /// A signal every time an object of `kind` (in `namespace`, or everywhere) that
    /// matches `selector` changes. The watch starts again by itself, with backoff, after
    /// the API server goes away; None when the kind is not served.
    pub fn changes(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Option<BoxStream<'static, ()>> {
        let resource = self.resource(api_version, kind)?;
        let api = self.api_for(&resource, namespace);
        let config = watcher::Config::default().labels(selector);
        Some(
            watcher(api, config)
                .default_backoff()
                .filter_map(|event| future::ready(event.ok().map(|_| ())))
                .boxed(),
        )
    }
}
