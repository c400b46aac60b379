#!/usr/bin/env bash
# Benchmark: a converged `landscape up` — nothing changed since the last one, the most
# common run in CI — against `kubectl apply --server-side` of the same rendered objects,
# in the same run; and the peak memory of `up`, `diff` and `render` of the large profile.
#
#   bench/converged.sh [OBJECTS] [RUNS]      (default 2000 objects, 3 runs each)
#
# 1. A stack of OBJECTS objects (ConfigMaps and Deployments over 10 namespaces) is
#    installed, then `landscape up` and `kubectl apply --server-side --field-manager
#    landscape` of `landscape render --show-secrets` are each run RUNS times on it.
# 2. `--profile large` (the demo values, with the operator stand-ins) is installed, and the
#    same two are measured on it; then the peak RSS of `up`, `diff` and `render` of it.
# Reported: median wall time, peak RSS, and kubectl's time over landscape's. Not a test.
name=converged-$$
source "$(dirname "$0")/lib.sh"
objects=${1:-2000}
runs=${2:-3}
bench_start --no-audit

objects_stack "$objects"
(cd "$work" && run "$landscape" up --timeout 30m >"$work/up.log" 2>&1) || { tail -20 "$work/up.log"; exit 1; }
(cd "$work" && run "$landscape" render --show-secrets >"$work/rendered.yaml")
cd "$work"
read -r l_t l_m < <(measure "$runs" "$landscape" up)
read -r k_t k_m < <(measure "$runs" kubectl apply --server-side --force-conflicts --field-manager=landscape -f "$work/rendered.yaml")

# The large profile, with the parts simulated pods cannot play.
mkdir -p "$work/large" && cd "$work/large"
run python3 "$repo/tests/testbed/stand-in.py" kyverno velero cert-manager rook tigera argocd webhook-certs >/dev/null 2>&1 &
background+=($!)
mkdir -p "$work/operators"
LANDSCAPE_OPERATORS_BIN=$("$repo/tests/testbed/build.sh" --print | sed -n 5p) LANDSCAPE_OPERATORS_LOGS=$work/operators \
  run python3 "$repo/tests/testbed/operators.py" metrics-server prometheus-operator gatekeeper >/dev/null 2>&1 &
background+=($!)
values=$repo/tests/testbed/demo/large.yaml
run "$landscape" up --profile large -f "$values" --timeout 30m >"$work/large.log" 2>&1 || { tail -30 "$work/large.log"; exit 1; }
run "$landscape" render --profile large -f "$values" --show-secrets >"$work/large.yaml"
read -r L_t L_m < <(measure "$runs" "$landscape" up --profile large -f "$values")
read -r K_t K_m < <(measure "$runs" kubectl apply --server-side --force-conflicts --field-manager=landscape -f "$work/large.yaml")
read -r D_t D_m < <(measure 1 "$landscape" diff --profile large -f "$values")
read -r R_t R_m < <(measure 1 "$landscape" render --profile large -f "$values")
large_objects=$(grep -c '^kind:' "$work/large.yaml" || true)

cat <<EOF2
converged runs, $runs runs each, $(nproc) cores, $(date -u +%Y-%m-%d)
| objects | tool | median wall time | peak RSS | landscape ÷ kubectl |
|---|---|---|---|---|
| $objects (+10 namespaces) | landscape up (converged) | ${l_t} s | $((l_m / 1024)) MiB | $(ratio "$l_t" "$k_t") |
| | kubectl apply --server-side | ${k_t} s | $((k_m / 1024)) MiB | |
| --profile large ($large_objects) | landscape up (converged) | ${L_t} s | $((L_m / 1024)) MiB | $(ratio "$L_t" "$K_t") |
| | kubectl apply --server-side | ${K_t} s | $((K_m / 1024)) MiB | |

peak RSS, --profile large: up $((L_m / 1024)) MiB, diff $((D_m / 1024)) MiB (${D_t} s), render $((R_m / 1024)) MiB (${R_t} s, warm)
EOF2
