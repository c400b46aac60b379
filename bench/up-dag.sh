#!/usr/bin/env bash
# Benchmark: how close `landscape up` comes to the critical path of its graph.
#
#   bench/up-dag.sh [RUNS]      (default 3)
#
# 16 user components in 4 levels of 4; each needs every component of the level before,
# and each is one Deployment whose pod becomes Ready 5 s after it is created (the
# testbed's `ready-after`), so no scheduler can finish before 4 × 5 s = 20 s. Reported:
# `up`'s median wall time over RUNS fresh installs, divided by that critical path — the
# price of applying, gating and scheduling. Not a test.
name=updag-$$
source "$(dirname "$0")/lib.sh"
runs=${1:-3}
delay=5
levels=4
bench_start --no-audit

python3 - "$work" "$levels" "$delay" <<'PY'
import os, sys
work, levels, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = ["name: dag", "components:"]
for level in range(levels):
    for i in range(4):
        c = f"l{level}-{i}"
        os.makedirs(f"{work}/{c}", exist_ok=True)
        open(f"{work}/{c}/app.yaml", "w").write(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {c}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {c}}}}}
  template:
    metadata:
      labels: {{app: {c}}}
      annotations: {{testbed.landscape.dev/ready-after: "{delay}s"}}
    spec: {{containers: [{{name: app, image: registry.example/{c}:1}}]}}
""")
        needs = [f"l{level - 1}-{j}" for j in range(4)] if level else []
        lines += [f"  {c}:", "    category: delivery", f"    namespace: dag-{c}",
                  f"    sources: [{{templateDir: ./{c}}}]", f"    needs: [{', '.join(needs)}]", "    timeout: 5m"]
open(f"{work}/landscape.yaml", "w").write("\n".join(lines) + "\n")
PY

cd "$work"
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s.%N)
  run "$landscape" up >"$work/up.log" 2>&1 || { tail -20 "$work/up.log"; exit 1; }
  end=$(date +%s.%N)
  times+=("$(python3 -c "print($end - $start)")")
  run "$landscape" down --yes >/dev/null 2>&1
done
median=$(python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "${times[@]}")
critical=$((levels * delay))
cat <<EOF2
up of a 16-component DAG, critical path $levels × ${delay} s, $runs runs, $(nproc) cores, $(date -u +%Y-%m-%d)
| critical path | landscape up (median) | up ÷ critical path |
|---|---|---|
| ${critical} s | ${median} s | $(ratio "$median" "$critical") |
EOF2
