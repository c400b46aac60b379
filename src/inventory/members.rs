//! A set of object keys, stored compactly as `group/Kind/namespace/name` strings (what the
//! inventory has always held) but handled everywhere as [`ObjectKey`]s.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::k8s::ObjectKey;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members(BTreeSet<ObjectKey>);

impl Members {
    pub fn contains(&self, key: &ObjectKey) -> bool {
        self.0.contains(key)
    }

    pub fn insert(&mut self, key: ObjectKey) -> bool {
        self.0.insert(key)
    }

    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        self.0.remove(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ObjectKey> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<ObjectKey> for Members {
    fn extend<I: IntoIterator<Item = ObjectKey>>(&mut self, keys: I) {
        self.0.extend(keys);
    }
}

impl IntoIterator for Members {
    type Item = ObjectKey;
    type IntoIter = std::collections::btree_set::IntoIter<ObjectKey>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<ObjectKey> for Members {
    fn from_iter<I: IntoIterator<Item = ObjectKey>>(iter: I) -> Self {
        Members(iter.into_iter().collect())
    }
}

impl Serialize for Members {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ObjectKey::to_id))
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ids: Vec<String> = Vec::deserialize(d)?;
        ids.iter()
            .map(|id| {
                ObjectKey::from_id(id)
                    .ok_or_else(|| serde::de::Error::custom(format!("`{id}` is not an object id")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_as_ids() {
        let m: Members = [ObjectKey {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: Some("a".into()),
            name: "b".into(),
        }]
        .into_iter()
        .collect();
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"["apps/Deployment/a/b"]"#);
        assert_eq!(serde_json::from_str::<Members>(&text).unwrap(), m);
        assert!(serde_json::from_str::<Members>(r#"["nonsense"]"#).is_err());
    }
}
