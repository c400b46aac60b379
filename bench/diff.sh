#!/usr/bin/env bash
# Benchmark: `landscape diff` against `kubectl diff --server-side` on the same objects,
# measured in the same run on the test control plane.
#
#   bench/diff.sh [OBJECTS] [RUNS]      (default 2000 objects, 3 runs each)
#
# A stack of OBJECTS objects (ConfigMaps and Deployments spread over 10 namespaces) is
# installed with `landscape up`; one object in fifty is then changed behind landscape's
# back. Both tools then diff the whole set: landscape from its stack, kubectl from the
# rendered manifests (`landscape render`), with the same field manager. Reported: wall
# time (median of RUNS) and peak memory of each, and their ratios.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
objects=${1:-2000}
runs=${2:-3}
name=bench-$$

cd "$repo"
cargo build --release --quiet
tests/testbed/build.sh >/dev/null
work=$(mktemp -d)
trap '"$repo/tests/testbed/testbed" down --name "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
tests/testbed/testbed up --name "$name" --no-mirror >/dev/null

mkdir -p "$work/objects"
python3 - "$objects" "$work/objects/objects.yaml" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
docs = []
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
cat >"$work/landscape.yaml" <<EOF
name: bench
components:
  objects:
    category: delivery
    namespace: bench-0
    sources:
      - file: ./objects/objects.yaml
    timeout: 30m
EOF
for i in $(seq 0 9); do echo "---"; printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: bench-%s}\n' "$i"; done >"$work/objects/namespaces.yaml"
{ cat "$work/objects/namespaces.yaml"; echo "---"; cat "$work/objects/objects.yaml"; } >"$work/objects/all.yaml"
mv "$work/objects/all.yaml" "$work/objects/objects.yaml"

landscape=$repo/target/release/landscape
run() { "$repo/tests/testbed/testbed" exec --name "$name" -- "$@"; }
(cd "$work" && run "$landscape" up --timeout 30m >"$work/up.log" 2>&1) || { tail -20 "$work/up.log"; exit 1; }
(cd "$work" && run "$landscape" render --show-secrets >"$work/rendered.yaml")
# Drift on one object in fifty, by another field manager.
for i in $(seq 0 50 $((objects - 1))); do
  if ((i % 10 != 9)); then
    run kubectl patch configmap "config-$i" -n "bench-$((i % 10))" --type merge -p '{"data":{"index":"drifted"}}' >/dev/null
  fi
done

cd "$work"
# Median wall time of RUNS runs and peak RSS (KiB), measured inside the namespace.
PY_MEASURE='
import subprocess, sys, time, resource, statistics
runs = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(runs):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times.append(time.monotonic() - t)
    if p.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed with {p.returncode}")
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{statistics.median(times):.2f} {rss}")
'
measure_in_ns() { run python3 -c "$PY_MEASURE" "$runs" "$@"; }
read -r l_t l_m < <(measure_in_ns "$landscape" diff)
read -r k1_t k1_m < <(measure_in_ns kubectl diff --server-side --force-conflicts --field-manager=landscape -f "$work/rendered.yaml")
read -r k16_t k16_m < <(measure_in_ns kubectl diff --server-side --force-conflicts --field-manager=landscape --concurrency=16 -f "$work/rendered.yaml")
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<EOF
objects: $objects (+10 namespaces), drifted: $(( (objects + 49) / 50 )), runs: $runs, $(nproc) cores
| tool | median wall time | peak RSS | time vs landscape |
|---|---|---|---|
| landscape diff | ${l_t} s | $((l_m / 1024)) MiB | 1.00 |
| kubectl diff --server-side (default concurrency 1) | ${k1_t} s | $((k1_m / 1024)) MiB | $(ratio "$k1_t" "$l_t") |
| kubectl diff --server-side --concurrency=16 | ${k16_t} s | $((k16_m / 1024)) MiB | $(ratio "$k16_t" "$l_t") |
EOF
