#!/usr/bin/env python3
"""Real operators: the upstream programs themselves, run as processes for simulated pods.

kwok simulates pods, not the programs in them. For the programs that run fine outside a
pod — Go binaries that take a kubeconfig — this runs the real thing on the pod's behalf,
so the status landscape's gates wait for is written by the program users run, and the API
server calls the real webhooks and aggregated APIs:

- a *server* part (a webhook, an aggregated API) runs one process per Running pod of its
  workload, listening on that pod's address: inside the test network namespace the pod
  range is local (tests/testbed/testbed, POD_CIDR), and the API server routes to endpoints;
- a *controller* part runs one process while its workload has a Running pod (leader
  election off: there is only ever one).

Each process gets the container's own arguments from the pod — the flags of the upstream
manifest or chart — minus those that only make sense in a pod, plus what a pod would have
given it: a kubeconfig instead of a service account token, a private directory for
certificates. It stops when its pod goes away, and all stop with this script.

Usage: operators.py PART [PART...]   (KUBECONFIG points at the test control plane;
                                      LANDSCAPE_OPERATORS_BIN at the built binaries)
"""

import base64
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

KUBECONFIG = os.environ.get("KUBECONFIG", "")
BIN = os.environ.get("LANDSCAPE_OPERATORS_BIN", "")
LOGS = os.environ.get("LANDSCAPE_OPERATORS_LOGS") or tempfile.mkdtemp(prefix="operators-")


def kubectl(*args):
    return subprocess.run(["kubectl", *args], capture_output=True, text=True)


def pods(namespace, selector):
    """Running pods with an address (kwok's Ready pods), oldest first."""
    out = kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json")
    if out.returncode != 0:
        return []
    running = [p for p in json.loads(out.stdout).get("items", [])
               if p.get("status", {}).get("phase") == "Running" and p["status"].get("podIP")
               and not p["metadata"].get("deletionTimestamp")]
    return sorted(running, key=lambda p: p["metadata"]["creationTimestamp"])


def container(pod, name):
    return next(c for c in pod["spec"]["containers"] if c["name"] == name)


def without(args, *prefixes):
    """The arguments, less those naming any of `prefixes` (`--flag` or `--flag=value`)."""
    return [a for a in args if not any(a == p or a.startswith(p + "=") for p in prefixes)]


def environment(pod, c):
    """The container's environment as the kubelet would give it: literal values and the
    pod's own fields (name, namespace, address), `$(VAR)` expanded as Kubernetes does."""
    env = dict(os.environ)
    fields = {"metadata.name": pod["metadata"]["name"],
              "metadata.namespace": pod["metadata"]["namespace"],
              "status.podIP": pod["status"].get("podIP", "")}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = expand(e["value"], env)
        elif "fieldRef" in e.get("valueFrom", {}):
            env[e["name"]] = fields.get(e["valueFrom"]["fieldRef"]["fieldPath"], "")
    return env


def expand(text, env):
    """Kubernetes' `$(VAR)` references, in arguments and values."""
    for name, value in env.items():
        text = text.replace(f"$({name})", value)
    return text


def volume_dir(pod, c, mount_path):
    """Where the container's volume mounted at `mount_path` lives for the process."""
    mount = next(m for m in c.get("volumeMounts", []) if m["mountPath"] == mount_path)
    d = os.path.join(workdir(pod), "volume-" + mount["name"])
    os.makedirs(d, exist_ok=True)
    return d


def sync_secret_volumes(pod):
    """Writes the Secret volumes of the pod's first container into their directories, one
    file per key, as the kubelet keeps them in step with their Secrets (an operator that
    writes its own serving certificate into a Secret waits to see it mounted)."""
    c = pod["spec"]["containers"][0]
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    for m in c.get("volumeMounts", []):
        secret = volumes.get(m["name"], {}).get("secret")
        if not secret:
            continue
        out = kubectl("get", "secret", secret["secretName"], "-n", pod["metadata"]["namespace"],
                      "-o", "jsonpath={.data}")
        if out.returncode != 0 or not out.stdout:
            continue
        d = volume_dir(pod, c, m["mountPath"])
        for key, value in json.loads(out.stdout).items():
            data = base64.b64decode(value)
            path = os.path.join(d, key)
            if not os.path.exists(path) or open(path, "rb").read() != data:
                with open(path + ".new", "wb") as f:
                    f.write(data)
                os.replace(path + ".new", path)


def workdir(pod):
    d = os.path.join(LOGS, pod["metadata"]["name"])
    os.makedirs(d, exist_ok=True)
    return d


# -- the parts ----------------------------------------------------------------------------

def metrics_server(pod):
    c = container(pod, "metrics-server")
    args = without(c.get("args", []), "--cert-dir", "--kubelet-use-node-status-port",
                   "--kubelet-preferred-address-types")
    return [os.path.join(BIN, "metrics-server"), *args,
            f"--bind-address={pod['status']['podIP']}",
            f"--cert-dir={workdir(pod)}",
            f"--kubeconfig={KUBECONFIG}",
            f"--authentication-kubeconfig={KUBECONFIG}",
            f"--authorization-kubeconfig={KUBECONFIG}",
            # kwok's nodes answer no kubelet API: scraping fails, the API is still served.
            "--kubelet-insecure-tls",
            "--kubelet-preferred-address-types=InternalIP"]


def kubeconfig_field(name):
    """A field of the testbed's kubeconfig (it writes one cluster and one user, by path)."""
    with open(KUBECONFIG) as f:
        for line in f:
            key, _, value = line.strip().partition(": ")
            if key == name:
                return value.strip()
    sys.exit(f"operators.py: no {name} in {KUBECONFIG}")


def prometheus_operator(pod):
    c = container(pod, "kube-prometheus-stack")
    # It takes no kubeconfig: the API server's address and the client certificate instead.
    args = without(c.get("args", []), "--web.listen-address")
    return [os.path.join(BIN, "prometheus-operator"), *args,
            f"--web.listen-address={pod['status']['podIP']}:8080",
            f"--apiserver={kubeconfig_field('server')}",
            f"--ca-file={kubeconfig_field('certificate-authority')}",
            f"--cert-file={kubeconfig_field('client-certificate')}",
            f"--key-file={kubeconfig_field('client-key')}"]


def gatekeeper(pod):
    """The manager, as each Deployment runs it (webhook, or audit and status): every
    listener on the pod's address, since several managers share the namespace's ports."""
    c = container(pod, "manager")
    ip = pod["status"]["podIP"]
    args = without(c.get("args", []), "--cert-dir", "--health-addr", "--metrics-addr")
    # The webhook pods make the serving certificate and write it into the Secret mounted
    # at /certs, then wait to see it there; the others only read it, and start once it is.
    certs = volume_dir(pod, c, "/certs")
    if "--disable-cert-rotation" in args and not os.listdir(certs):
        return None
    return [os.path.join(BIN, "gatekeeper"), *args,
            f"--kubeconfig={KUBECONFIG}",
            f"--host={ip}", f"--health-addr={ip}:9090", f"--metrics-addr={ip}:8080",
            # Its Prometheus exporter listens on every address: any free port, then.
            "--prometheus-port=0",
            f"--cert-dir={certs}"]


# name: [(namespace, pod selector, "server" or "controller", command for a pod)]
PARTS = {
    "metrics-server": [("kube-system", "app.kubernetes.io/name=metrics-server", "server", metrics_server)],
    "prometheus-operator": [("monitoring", "app.kubernetes.io/component=prometheus-operator",
                             "controller", prometheus_operator)],
    "gatekeeper": [("gatekeeper-system", "gatekeeper.sh/operation=webhook", "server", gatekeeper),
                   ("gatekeeper-system", "gatekeeper.sh/operation=audit", "controller", gatekeeper)],
}


# -- running them -------------------------------------------------------------------------

class Runner:
    def __init__(self, part, namespace, selector, mode, command):
        self.part, self.namespace, self.selector = part, namespace, selector
        self.mode, self.command = mode, command
        self.running = {}  # pod uid -> Popen

    def step(self):
        wanted = pods(self.namespace, self.selector)
        if self.mode == "controller":
            wanted = wanted[:1]
        wanted = {p["metadata"]["uid"]: p for p in wanted}
        for uid in list(self.running):
            proc = self.running[uid]
            if uid not in wanted or proc.poll() is not None:
                stop(proc)
                del self.running[uid]
        for uid, pod in wanted.items():
            sync_secret_volumes(pod)
            if uid not in self.running:
                command = self.command(pod)
                if command is None:  # not ready to start (a Secret it mounts is missing)
                    continue
                log = open(os.path.join(LOGS, f"{self.part}-{pod['metadata']['name']}.log"), "ab")
                main = pod["spec"]["containers"][0]
                env = environment(pod, main)
                argv = [expand(a, env) for a in command]
                self.running[uid] = subprocess.Popen(argv, env=env, stdout=log, stderr=log,
                                                     stdin=subprocess.DEVNULL,
                                                     preexec_fn=die_with_parent)

    def stop_all(self):
        for proc in self.running.values():
            stop(proc)
        self.running.clear()


def die_with_parent():
    """In the child: SIGTERM when this script dies, however it dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    parts = sys.argv[1:]
    unknown = [p for p in parts if p not in PARTS]
    if not parts or unknown:
        sys.exit(f"usage: operators.py PART...; parts: {' '.join(PARTS)}"
                 + (f" (unknown: {unknown})" if unknown else ""))
    missing = [p for p in parts if not os.access(os.path.join(BIN, binary_of(p)), os.X_OK)]
    if missing:
        sys.exit(f"operators.py: no binary for {missing} in LANDSCAPE_OPERATORS_BIN={BIN!r} "
                 "(run tests/testbed/build.sh)")
    runners = [Runner(p, *spec) for p in parts for spec in PARTS[p]]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    parent = os.getppid()
    try:
        while not stopping and os.getppid() == parent:  # stop with whoever started us
            for r in runners:
                r.step()
            time.sleep(0.5)
    finally:
        for r in runners:
            r.stop_all()


BINARIES = {"metrics-server": "metrics-server", "prometheus-operator": "prometheus-operator",
            "gatekeeper": "gatekeeper"}


def binary_of(part):
    return BINARIES[part]


if __name__ == "__main__":
    main()
