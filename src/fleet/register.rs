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
    let fail = |what: String, hint: &'static str| RegisterError::Context {
        context: context.to_string(),
        what,
        hint,
    };
    let ctx = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| {
            fail(
                "not in the kubeconfig".into(),
                "check `kubectl config get-contexts`",
            )
        })?;
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| {
            fail(
                format!("its cluster {} is not in the kubeconfig", ctx.cluster),
                "fix the kubeconfig",
            )
        })?;
    let server = cluster.server.clone().ok_or_else(|| {
        fail(
            format!("cluster {} has no server address", ctx.cluster),
            "fix the kubeconfig",
        )
    })?;

    let mut tls = Map::new();
    tls.insert(
        "insecure".into(),
        Value::Bool(cluster.insecure_skip_tls_verify.unwrap_or(false)),
    );
    if let Some(name) = &cluster.tls_server_name {
        tls.insert("serverName".into(), Value::String(name.clone()));
    }
    let read = |path: &str, what: &str| {
        files::read_bytes(Path::new(path), CREDENTIAL_FILE_LIMIT)
            .map(|b| base64::encode(&b))
            .map_err(|e| {
                fail(
                    format!("cannot read its {what} {path}: {e}"),
                    "the file must be readable by this user",
                )
            })
    };
    if let Some(data) = &cluster.certificate_authority_data {
        tls.insert("caData".into(), Value::String(data.clone()));
    } else if let Some(path) = &cluster.certificate_authority {
        tls.insert("caData".into(), Value::String(read(path, "CA file")?));
    }

    let user = match &ctx.user {
        Some(name) => kubeconfig
            .auth_infos
            .iter()
            .find(|u| &u.name == name)
            .and_then(|u| u.auth_info.clone())
            .ok_or_else(|| {
                fail(
                    format!("its user {name} is not in the kubeconfig"),
                    "fix the kubeconfig",
                )
            })?,
        None => AuthInfo::default(),
    };
    // The kubeconfig's own spelling of each field, secrets included (kube keeps them
    // wrapped in memory; its serialisation writes them out as a kubeconfig would).
    let fields = serde_json::to_value(&user).unwrap_or(Value::Null);
    let field = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_string);

    let mut config = Map::new();
    if let Some(data) = field("client-certificate-data") {
        tls.insert("certData".into(), Value::String(data));
    } else if let Some(path) = field("client-certificate") {
        tls.insert(
            "certData".into(),
            Value::String(read(&path, "client certificate")?),
        );
    }
    if let Some(data) = field("client-key-data") {
        tls.insert("keyData".into(), Value::String(data));
    } else if let Some(path) = field("client-key") {
        tls.insert("keyData".into(), Value::String(read(&path, "client key")?));
    }
    if let Some(token) = field("token") {
        config.insert("bearerToken".into(), Value::String(token));
    } else if let Some(path) = field("tokenFile") {
        let token = files::read_text(Path::new(&path), CREDENTIAL_FILE_LIMIT).map_err(|e| {
            fail(
                format!("cannot read its token file {path}: {e}"),
                "the file must be readable by this user",
            )
        })?;
        config.insert(
            "bearerToken".into(),
            Value::String(token.trim().to_string()),
        );
    }
    if let (Some(name), Some(password)) = (field("username"), field("password")) {
        config.insert("username".into(), Value::String(name));
        config.insert("password".into(), Value::String(password));
    }
    if let Some(exec) = &user.exec {
        let command = exec.command.clone().ok_or_else(|| {
            fail(
                "its exec plugin names no command".into(),
                "fix the kubeconfig",
            )
        })?;
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
        config.insert("execProviderConfig".into(), provider);
    }
    if user.auth_provider.is_some() {
        return Err(fail(
            "its user authenticates with an auth-provider plugin, which Argo CD cannot use".into(),
            "give the member a token, a client certificate or an exec plugin",
        ));
    }
    let has_credentials = config.contains_key("bearerToken")
        || config.contains_key("username")
        || config.contains_key("execProviderConfig")
        || tls.contains_key("keyData");
    if !has_credentials {
        return Err(fail(
            "its user has no credentials Argo CD can use".into(),
            "give the member a token, a client certificate or an exec plugin",
        ));
    }
    config.insert("tlsClientConfig".into(), Value::Object(tls));
    Ok(json!({"name": context, "server": server, "config": Value::Object(config)}))
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
