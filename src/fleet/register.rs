//! A fleet member as the first member's Argo CD sees it: the `argocd-clusters` entry
//! (`name`, `server`, `config`) built from the member's kubeconfig context, so that the hub
//! deploys to it with the same credentials landscape used.
//!
//! The kubeconfig's credential kinds map one to one onto Argo CD's cluster config: a token
//! (or token file) to `bearerToken`, client certificates and the CA to `tlsClientConfig`,
//! user name and password to basic auth, and an exec plugin to `execProviderConfig` (the
//! plugin must then exist in Argo CD's image too, as for EKS's `aws` or `argocd-k8s-auth`).

use std::path::Path;

use kube::config::{AuthInfo, Kubeconfig};
use serde_json::{Map, Value, json};

use crate::files;
use crate::k8s::base64;

/// Certificates, keys and tokens are small; a larger file is not one.
const CREDENTIAL_FILE_LIMIT: u64 = 1024 * 1024;

/// Why a member cannot be registered with the hub's Argo CD.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("context {context}: {what} (hint: {hint})")]
    Context {
        context: String,
        what: String,
        hint: &'static str,
    },
}

/// The `argocd-clusters` entry for `context`.
pub fn registration(kubeconfig: &Kubeconfig, context: &str) -> Result<Value, RegisterError> {
    let member = Member { context };
    let (cluster, user) = member.lookup(kubeconfig)?;
    let server = cluster
        .server
        .clone()
        .ok_or_else(|| member.fail("its cluster has no server address", "fix the kubeconfig"))?;
    if user.auth_provider.is_some() {
        return Err(member.fail(
            "its user authenticates with an auth-provider plugin, which Argo CD cannot use",
            NO_CREDENTIALS_HINT,
        ));
    }
    // The kubeconfig's own spelling of each field, secrets included (kube keeps them
    // wrapped in memory; its serialisation writes them out as a kubeconfig would).
    let fields = serde_json::to_value(&user).unwrap_or(Value::Null);
    let field = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_string);
    let tls = member.tls_client_config(cluster, &field)?;
    let mut config = member.credentials(&user, &field)?;
    if config.is_empty() && !tls.contains_key("keyData") {
        return Err(member.fail(
            "its user has no credentials Argo CD can use",
            NO_CREDENTIALS_HINT,
        ));
    }
    config.insert("tlsClientConfig".into(), Value::Object(tls));
    Ok(json!({"name": context, "server": server, "config": Value::Object(config)}))
}

const NO_CREDENTIALS_HINT: &str = "give the member a token, a client certificate or an exec plugin";

/// One member's context, read step by step; every error names it.
struct Member<'a> {
    context: &'a str,
}

impl Member<'_> {
    fn fail(&self, what: impl Into<String>, hint: &'static str) -> RegisterError {
        RegisterError::Context {
            context: self.context.to_string(),
            what: what.into(),
            hint,
        }
    }

    /// The context's cluster and user (a context without a user has no credentials).
    fn lookup<'k>(
        &self,
        kubeconfig: &'k Kubeconfig,
    ) -> Result<(&'k kube::config::Cluster, AuthInfo), RegisterError> {
        let ctx = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == self.context)
            .and_then(|c| c.context.as_ref())
            .ok_or_else(|| {
                self.fail(
                    "not in the kubeconfig",
                    "check `kubectl config get-contexts`",
                )
            })?;
        let cluster = kubeconfig
            .clusters
            .iter()
            .find(|c| c.name == ctx.cluster)
            .and_then(|c| c.cluster.as_ref())
            .ok_or_else(|| {
                self.fail(
                    format!("its cluster {} is not in the kubeconfig", ctx.cluster),
                    "fix the kubeconfig",
                )
            })?;
        let user = match &ctx.user {
            Some(name) => kubeconfig
                .auth_infos
                .iter()
                .find(|u| &u.name == name)
                .and_then(|u| u.auth_info.clone())
                .ok_or_else(|| {
                    self.fail(
                        format!("its user {name} is not in the kubeconfig"),
                        "fix the kubeconfig",
                    )
                })?,
            None => AuthInfo::default(),
        };
        Ok((cluster, user))
    }

    /// A credential file the kubeconfig names, bounded.
    fn read(&self, path: &str, what: &str) -> Result<Vec<u8>, RegisterError> {
        files::read_bytes(Path::new(path), CREDENTIAL_FILE_LIMIT).map_err(|e| {
            self.fail(
                format!("cannot read its {what} {path}: {e}"),
                "the file must be readable by this user",
            )
        })
    }

    /// Inline data, else the named file's bytes, base64 as Argo CD wants them.
    fn data_or_file(
        &self,
        data: Option<String>,
        path: Option<String>,
        what: &str,
    ) -> Result<Option<String>, RegisterError> {
        match (data, path) {
            (Some(data), _) => Ok(Some(data)),
            (None, Some(path)) => Ok(Some(base64::encode(&self.read(&path, what)?))),
            (None, None) => Ok(None),
        }
    }

    /// `tlsClientConfig`: how to trust the server, and the client certificate.
    fn tls_client_config(
        &self,
        cluster: &kube::config::Cluster,
        field: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Map<String, Value>, RegisterError> {
        let mut tls = Map::new();
        tls.insert(
            "insecure".into(),
            Value::Bool(cluster.insecure_skip_tls_verify.unwrap_or(false)),
        );
        if let Some(name) = &cluster.tls_server_name {
            tls.insert("serverName".into(), Value::String(name.clone()));
        }
        let pieces = [
            (
                "caData",
                cluster.certificate_authority_data.clone(),
                cluster.certificate_authority.clone(),
                "CA file",
            ),
            (
                "certData",
                field("client-certificate-data"),
                field("client-certificate"),
                "client certificate",
            ),
            (
                "keyData",
                field("client-key-data"),
                field("client-key"),
                "client key",
            ),
        ];
        for (key, data, path, what) in pieces {
            if let Some(value) = self.data_or_file(data, path, what)? {
                tls.insert(key.into(), Value::String(value));
            }
        }
        Ok(tls)
    }

    /// The user's credentials besides the client certificate: a token (or token file),
    /// basic auth, an exec plugin.
    fn credentials(
        &self,
        user: &AuthInfo,
        field: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Map<String, Value>, RegisterError> {
        let mut config = Map::new();
        let token = match (field("token"), field("tokenFile")) {
            (Some(token), _) => Some(token),
            (None, Some(path)) => {
                let bytes = self.read(&path, "token file")?;
                Some(String::from_utf8_lossy(&bytes).trim().to_string())
            }
            (None, None) => None,
        };
        if let Some(token) = token {
            config.insert("bearerToken".into(), Value::String(token));
        }
        if let (Some(name), Some(password)) = (field("username"), field("password")) {
            config.insert("username".into(), Value::String(name));
            config.insert("password".into(), Value::String(password));
        }
        if let Some(exec) = &user.exec {
            config.insert("execProviderConfig".into(), self.exec_provider(exec)?);
        }
        Ok(config)
    }

    /// Argo CD's `execProviderConfig` for a kubeconfig exec plugin.
    fn exec_provider(&self, exec: &kube::config::ExecConfig) -> Result<Value, RegisterError> {
        let command = exec
            .command
            .clone()
            .ok_or_else(|| self.fail("its exec plugin names no command", "fix the kubeconfig"))?;
        let env: Map<String, Value> = exec
            .env
            .iter()
            .flatten()
            .filter_map(|e| {
                Some((
                    e.get("name")?.clone(),
                    Value::String(e.get("value")?.clone()),
                ))
            })
            .collect();
        let mut provider = json!({
            "command": command,
            "args": exec.args.clone().unwrap_or_default(),
            "env": env,
        });
        if let Some(v) = &exec.api_version {
            provider["apiVersion"] = Value::String(v.clone());
        }
        Ok(provider)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(user: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1
kind: Config
clusters:
- name: eu
  cluster: {{server: 'https://eu.example:6443', certificate-authority-data: Q0E=}}
contexts:
- name: eu-admin
  context: {{cluster: eu, user: admin}}
users:
- name: admin
  user:
{user}"
        ))
        .unwrap()
    }

    #[test]
    fn a_client_certificate_becomes_tls_client_config() {
        let k = kubeconfig("    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n");
        let r = registration(&k, "eu-admin").unwrap();
        assert_eq!(r["name"], "eu-admin");
        assert_eq!(r["server"], "https://eu.example:6443");
        let tls = &r["config"]["tlsClientConfig"];
        assert_eq!(tls["caData"], "Q0E=");
        assert_eq!(tls["certData"], "Q0VSVA==");
        assert_eq!(tls["keyData"], "S0VZ");
        assert_eq!(tls["insecure"], false);
    }

    #[test]
    fn a_token_and_an_exec_plugin_carry_over() {
        let k = kubeconfig("    token: abc.def\n");
        let r = registration(&k, "eu-admin").unwrap();
        assert_eq!(r["config"]["bearerToken"], "abc.def");

        let k = kubeconfig(
            "    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, eu]
      env: [{name: AWS_PROFILE, value: platform}]
",
        );
        let r = registration(&k, "eu-admin").unwrap();
        let exec = &r["config"]["execProviderConfig"];
        assert_eq!(exec["command"], "aws");
        assert_eq!(exec["args"][1], "get-token");
        assert_eq!(exec["env"]["AWS_PROFILE"], "platform");
        assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    }

    #[test]
    fn a_member_without_usable_credentials_is_refused_by_name() {
        let k = kubeconfig("    username: someone\n");
        let e = registration(&k, "eu-admin").unwrap_err().to_string();
        assert!(
            e.starts_with("context eu-admin: its user has no credentials"),
            "{e}"
        );
        let e = registration(&k, "nowhere").unwrap_err().to_string();
        assert!(e.contains("context nowhere: not in the kubeconfig"), "{e}");
    }
}
