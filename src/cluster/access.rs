//! What the caller may do: SelfSubjectAccessReviews, for `doctor`'s rights check.

use kube::api::{Api, PostParams};

use super::error::from_kube;
use super::{Cluster, ClusterError, read_retrying};
use crate::k8s::ObjectKey;

impl Cluster {
    /// Whether the caller may `verb` the `resource` of `group` (in `namespace`, or
    /// cluster-wide): a SelfSubjectAccessReview, which any authenticated user may send.
    pub async fn can(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Result<bool, ClusterError> {
        use k8s_openapi::api::authorization::v1::{
            ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_string()),
                    group: Some(group.to_string()),
                    resource: Some(resource.to_string()),
                    namespace: namespace.map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let key = ObjectKey {
            group: "authorization.k8s.io".into(),
            kind: "SelfSubjectAccessReview".into(),
            namespace: None,
            name: format!("{verb} {resource}"),
        };
        let answer = read_retrying(|| async {
            api.create(&PostParams::default(), &review)
                .await
                .map_err(|e| from_kube("review", &key, e))
        })
        .await?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }
}
