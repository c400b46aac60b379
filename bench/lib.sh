# Shared by the benchmarks: a release build, one test control plane for the run, and
# measurement inside its loopback-only network namespace. Source it; set `name` first.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
repo=$(cd "$here/.." && pwd)
testbed=$repo/tests/testbed/testbed
landscape=$repo/target/release/landscape
work=$(mktemp -d)
# Background processes a bench starts (operator stand-ins), stopped on exit with the rest.
background=()

# Builds landscape (release) and the control plane, and starts one named `$name`
# (extra `testbed up` flags as arguments); stopped and cleaned up on exit.
bench_start() {
  (cd "$repo" && cargo build --release --quiet)
  "$testbed" build >/dev/null
  trap 'for p in "${background[@]}"; do kill "$p" 2>/dev/null; done; "$testbed" down --name "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  "$testbed" up --name "$name" "$@" >/dev/null
}

# Runs a command inside the control plane's network namespace, with its kubeconfig.
run() { "$testbed" exec --name "$name" -- "$@"; }

# `measure RUNS cmd…`: the median wall time (s) of RUNS runs and the peak RSS (KiB) of the
# command, measured inside the namespace. Exit codes 0 and 1 (diff: differences) count as
# success.
measure() {
  local runs=$1
  shift
  run python3 -c '
import subprocess, sys, time, resource, statistics
runs = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(runs):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    times.append(time.monotonic() - t)
    if p.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed with {p.returncode}: {p.stderr.decode()[-2000:]}")
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{statistics.median(times):.2f} {rss}")
' "$runs" "$@"
}

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

# Writes a stack of $1 objects (ConfigMaps and Deployments over 10 namespaces, with the
# namespaces) to $work/objects, and its landscape.yaml to $work.
objects_stack() {
  mkdir -p "$work/objects"
  python3 - "$1" "$work/objects/objects.yaml" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
docs = [f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: bench-{i}}}" for i in range(10)]
for i in range(n):
    ns = f"bench-{i % 10}"
    if i % 10 == 9:
        docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{i}, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata: {{labels: {{app: app-{i}}}}}
    spec: {{containers: [{{name: app, image: "registry.example/app:{i}"}}]}}""")
    else:
        docs.append(f"""apiVersion: v1
kind: ConfigMap
metadata: {{name: config-{i}, namespace: {ns}}}
data: {{index: "{i}", payload: "{'x' * 200}"}}""")
open(path, "w").write("\n---\n".join(docs) + "\n")
PY
  cat >"$work/landscape.yaml" <<EOF2
name: bench
components:
  objects:
    category: delivery
    namespace: bench-0
    sources:
      - file: ./objects/objects.yaml
    timeout: 30m
EOF2
}
