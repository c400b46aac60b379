#!/usr/bin/env python3
"""Stand-ins for operators that simulated pods cannot run.

kwok simulates pods, not the programs in them: no Prometheus Operator, Kyverno or
cert-manager ever runs, so nobody writes the status their custom resources are gated on.
This plays those operators' parts — it writes exactly the status (or object) the real
operator would write once its work is done — so that a test or a demo can watch
landscape's gates pass. The gates themselves are never relaxed.

Usage: stand-in.py PART [PART...]      (KUBECONFIG must point at the test control plane)
Parts: prometheus-operator kyverno cert-manager gatekeeper rook velero tigera argocd webhook-certs
"""

import json
import os
import subprocess
import sys
import time

NOW = "2026-01-01T00:00:00Z"


def kubectl(*args, stdin=None):
    return subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True)


def items(resource):
    out = kubectl("get", resource, "-A", "-o", "json")
    if out.returncode != 0:
        return []
    return json.loads(out.stdout).get("items", [])


def condition(kind, generation, status="True"):
    return {"type": kind, "status": status, "reason": "TestbedStandIn",
            "message": "written by the testbed's operator stand-in",
            "lastTransitionTime": NOW, "observedGeneration": generation}


def patch_status(resource, obj, status):
    """Through the status subresource when the CRD has one, else on the object itself."""
    meta = obj["metadata"]
    args = ["patch", resource, meta["name"], "--type=merge", "-p", json.dumps({"status": status})]
    if meta.get("namespace"):
        args += ["-n", meta["namespace"]]
    if kubectl(*args, "--subresource=status").returncode != 0:
        kubectl(*args)


def conditions_part(resource, kinds):
    """Sets the given conditions True, for the object's current generation."""
    def play():
        for obj in items(resource):
            gen = obj["metadata"].get("generation", 1)
            conds = obj.get("status", {}).get("conditions", [])
            done = all(any(c.get("type") == k and c.get("status") == "True"
                           and c.get("observedGeneration", gen) == gen for c in conds) for k in kinds)
            if not done:
                patch_status(resource, obj, {"conditions": [condition(k, gen) for k in kinds],
                                             "observedGeneration": gen})
    return play


def phase_part(resource, phase):
    def play():
        for obj in items(resource):
            if obj.get("status", {}).get("phase") != phase:
                patch_status(resource, obj, {"phase": phase, "message": "written by the testbed's operator stand-in"})
    return play


def inject_ca_bundles(only_annotated=True):
    """Fill the caBundle of webhook configurations: cert-manager's cainjector does it for
    those annotated `cert-manager.io/inject-ca-from*`; Gatekeeper's and SPIRE's own
    certificate controllers do it for theirs."""
    for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
        for obj in items(kind):
            ann = obj["metadata"].get("annotations") or {}
            if only_annotated and not any(k.startswith("cert-manager.io/inject-ca-from") for k in ann):
                continue
            hooks = obj.get("webhooks", [])
            if all(h.get("clientConfig", {}).get("caBundle") for h in hooks):
                continue
            patch = [{"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": "dGVzdGJlZC1jYQo="}
                     for i, _ in enumerate(hooks)]
            kubectl("patch", kind, obj["metadata"]["name"], "--type=json", "-p", json.dumps(patch))


def gatekeeper_constraint_crds():
    """Gatekeeper compiles each ConstraintTemplate into a CRD for its constraint kind."""
    for tpl in items("constrainttemplates.templates.gatekeeper.sh"):
        kind = tpl["spec"]["crd"]["spec"]["names"]["kind"]
        plural = kind.lower()
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.constraints.gatekeeper.sh",
                         "labels": {"gatekeeper.sh/constraint": "yes"}},
            "spec": {"group": "constraints.gatekeeper.sh", "scope": "Cluster",
                     "names": {"kind": kind, "plural": plural, "listKind": kind + "List", "singular": plural},
                     "versions": [{"name": v, "served": True, "storage": v == "v1beta1",
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}
                                  for v in ("v1beta1", "v1")]},
        }
        kubectl("apply", "--server-side", "--field-manager=gatekeeper-stand-in", "-f", "-", stdin=json.dumps(crd))
        gen = tpl["metadata"].get("generation", 1)
        if not tpl.get("status", {}).get("created"):
            patch_status("constrainttemplates.templates.gatekeeper.sh", tpl,
                         {"created": True, "byPod": [{"id": "gatekeeper-audit", "observedGeneration": gen}]})
        # Each Gatekeeper pod reports a constraint enforced once it has loaded it.
        for c in items(f"{plural}.constraints.gatekeeper.sh"):
            cgen = c["metadata"].get("generation", 1)
            pods = c.get("status", {}).get("byPod", [])
            if not pods or not all(p.get("enforced") for p in pods):
                patch_status(f"{plural}.constraints.gatekeeper.sh", c,
                             {"byPod": [{"id": pod, "enforced": True, "observedGeneration": cgen}
                                        for pod in ("gatekeeper-audit", "gatekeeper-controller-manager-0")]})


def ceph_csi_drivers():
    """ceph-csi-operator: for each Driver, the CSIDriver registration, the controller plugin
    Deployment and the node plugin DaemonSet, named as the operator names them (kwok then
    runs their pods)."""
    for driver in items("drivers.csi.ceph.io"):
        if driver["metadata"]["uid"] in CSI_DRIVERS_DONE:
            continue
        name, ns = driver["metadata"]["name"], driver["metadata"]["namespace"]
        owner = [{"apiVersion": "csi.ceph.io/v1", "kind": "Driver", "name": name,
                  "uid": driver["metadata"]["uid"], "controller": True}]
        pod = lambda app: {"metadata": {"labels": {"app": app}},
                           "spec": {"containers": [{"name": "csi-plugin", "image": "quay.io/cephcsi/cephcsi:v3"}]}}
        objects = [
            {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
             "metadata": {"name": name, "annotations": {"csi.ceph.io/ownerref": json.dumps({"Namespace": ns, "Name": name})}},
             "spec": {"attachRequired": True, "podInfoOnMount": False}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": f"{name}-ctrlplugin", "namespace": ns, "ownerReferences": owner},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": f"{name}-ctrlplugin"}},
                      "template": pod(f"{name}-ctrlplugin")}},
            {"apiVersion": "apps/v1", "kind": "DaemonSet",
             "metadata": {"name": f"{name}-nodeplugin", "namespace": ns, "ownerReferences": owner},
             "spec": {"selector": {"matchLabels": {"app": f"{name}-nodeplugin"}},
                      "template": pod(f"{name}-nodeplugin")}},
        ]
        applied = [kubectl("apply", "--server-side", "--field-manager=ceph-csi-operator-stand-in",
                           "-f", "-", stdin=json.dumps(o)).returncode == 0 for o in objects]
        if all(applied):
            CSI_DRIVERS_DONE.add(driver["metadata"]["uid"])


CSI_DRIVERS_DONE = set()


def argocd_applications():
    for app in items("applications.argoproj.io"):
        st = app.get("status", {})
        if st.get("health", {}).get("status") != "Healthy" or st.get("sync", {}).get("status") != "Synced":
            patch_status("applications.argoproj.io", app,
                         {"health": {"status": "Healthy"}, "sync": {"status": "Synced"}})


PARTS = {
    "prometheus-operator": [
        conditions_part("prometheuses.monitoring.coreos.com", ["Available", "Reconciled"]),
        conditions_part("alertmanagers.monitoring.coreos.com", ["Available", "Reconciled"]),
    ],
    "kyverno": [conditions_part("clusterpolicies.kyverno.io", ["Ready"])],
    "cert-manager": [
        inject_ca_bundles,
        conditions_part("clusterissuers.cert-manager.io", ["Ready"]),
        conditions_part("issuers.cert-manager.io", ["Ready"]),
        conditions_part("certificates.cert-manager.io", ["Ready"]),
    ],
    "gatekeeper": [gatekeeper_constraint_crds],
    "rook": [phase_part("cephclusters.ceph.rook.io", "Ready"), phase_part("cephblockpools.ceph.rook.io", "Ready"),
             ceph_csi_drivers],
    "webhook-certs": [lambda: inject_ca_bundles(only_annotated=False)],
    "velero": [phase_part("backupstoragelocations.velero.io", "Available"),
               phase_part("schedules.velero.io", "Enabled")],
    "tigera": [conditions_part("installations.operator.tigera.io", ["Ready"])],
    "argocd": [argocd_applications,
               conditions_part("applicationsets.argoproj.io", ["ResourcesUpToDate"])],
}


def main():
    parts = sys.argv[1:]
    unknown = [p for p in parts if p not in PARTS]
    if not parts or unknown:
        sys.exit(f"usage: stand-in.py PART...; parts: {' '.join(PARTS)}" + (f" (unknown: {unknown})" if unknown else ""))
    parent = os.getppid()
    while os.getppid() == parent:  # stop with whoever started us
        for p in parts:
            for play in PARTS[p]:
                play()
        time.sleep(0.5)


if __name__ == "__main__":
    main()
