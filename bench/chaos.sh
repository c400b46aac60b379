#!/usr/bin/env bash
# Chaos bench: does `landscape up` converge after being killed at a random moment, and
# survive the API server restarting under it?
#
#   bench/chaos.sh [RUNS]          # RUNS rounds of each (default 10)
#   KILL_RUNS=30 RESTART_RUNS=10 bench/chaos.sh
#
# On one test control plane (with the operator stand-ins running), each kill round starts
# `up --profile small` (the demo values), kills it with SIGKILL at a random moment between
# 1 s and the end of a normal run, runs `up` again until it exits 0 (waiting for the dead
# run's lock), and checks that it converged: `diff` exits 0, the inventory's members are
# exactly the rendered objects, and no object carrying the stack's ApplySet label is
# missing from the inventory. Each restart round starts `up` (after a `down`) and restarts
# the API server at a random moment mid-run; the run must exit 0 by itself. It prints
# converged/total for each and the worst time to converge, and a markdown table.
#
# Runs inside the loopback-only network namespace, like every testbed command. Not a test:
# rounds take minutes; run it by hand and copy the table into docs/reliability.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
testbed=$repo/tests/testbed/testbed
KILL_RUNS=${KILL_RUNS:-${1:-10}}
RESTART_RUNS=${RESTART_RUNS:-${1:-10}}
name=chaos-$$

if [[ ${CHAOS_INSIDE:-} != 1 ]]; then
  (cd "$repo" && cargo build --release --quiet)
  "$testbed" build >/dev/null
  "$testbed" up --name "$name" >/dev/null
  trap '"$testbed" down --name "$name" >/dev/null 2>&1 || true' EXIT
  CHAOS_INSIDE=1 KILL_RUNS=$KILL_RUNS RESTART_RUNS=$RESTART_RUNS CHAOS_NAME=$name \
    "$testbed" exec --name "$name" -- bash "$0"
  exit $?
fi

name=$CHAOS_NAME
bin=$repo/target/release/landscape
values=$repo/tests/testbed/demo/small.yaml
work=$(mktemp -d)
export LANDSCAPE_CACHE_DIR=$work/cache
python3 "$repo/tests/testbed/stand-in.py" prometheus-operator kyverno velero >/dev/null 2>&1 &
stand_in=$!
# metrics-server runs for real: its APIService is Available only when it answers.
mkdir -p "$work/operators"
LANDSCAPE_OPERATORS_BIN=$("$repo/tests/testbed/build.sh" --print | sed -n 5p) \
  LANDSCAPE_OPERATORS_LOGS=$work/operators python3 "$repo/tests/testbed/operators.py" metrics-server >/dev/null 2>&1 &
operators=$!
trap 'kill $stand_in $operators 2>/dev/null || true; sleep 1; rm -rf "$work"' EXIT

up() { "$bin" up --profile small -f "$values" "$@"; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.1f}')"; }
random_between() { python3 -c "import random; print(f'{random.uniform($1, $2):.2f}')"; }

# Converged: diff is clean, the inventory's members are exactly the rendered objects, and
# every object carrying the stack's ApplySet label is in the inventory.
converged() {
  "$bin" diff --profile small -f "$values" >/dev/null 2>&1 || return 1
  "$bin" render --profile small -f "$values" -o json 2>/dev/null >"$work/rendered.json"
  kubectl get secret -n kube-system landscape-small -o json >"$work/inventory.json" || return 1
  local set
  set=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["labels"]["applyset.kubernetes.io/id"])' "$work/inventory.json")
  kubectl api-resources --verbs=list -o name 2>/dev/null | grep -v -e '^events' -e '^endpoints' |
    xargs -I{} kubectl get {} -A -l "applyset.kubernetes.io/part-of=$set" \
      -o jsonpath='{range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}|{.metadata.ownerReferences[0].uid}|{.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null \
    >"$work/labelled.txt" || true
  python3 - "$work" <<'PY'
import base64, gzip, json, sys
work = sys.argv[1]
rendered = {f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
            for c in json.load(open(f"{work}/rendered.json")) for o in c["objects"]}
parent = json.load(open(f"{work}/inventory.json"))
inv = json.loads(gzip.decompress(base64.b64decode(parent["data"]["inventory.json.gz"])))
def key(i):
    group, kind, ns, name = i.split("/", 3)
    return f"{kind}/{ns}/{name}"
members = {key(i) for c in inv["components"].values() for i in c.get("objects", []) + c.get("adopted", [])}
recorded = members | {key(i) for i in inv.get("retained", [])}
# Objects controllers made (owned), being deleted, or Endpoints mirroring a Service do not count.
labelled = {l.split("|")[0] for l in open(f"{work}/labelled.txt").read().split("\n")
            if l and l.endswith("||") and not l.startswith("Endpoints/")}
ok = members == rendered and labelled <= recorded
if not ok:
    print("  members - rendered:", sorted(members - rendered)[:5], "rendered - members:", sorted(rendered - members)[:5],
          "labelled - recorded:", sorted(labelled - recorded)[:5], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# Removes the stack before a round; a round starts only from a cluster without it.
clean_slate() {
  for attempt in 1 2 3; do
    if "$bin" down --profile small -f "$values" --yes --delete-volumes --wait-for-lock 90s >"$1" 2>&1; then return; fi
    grep -q "is not installed" "$1" && return
  done
  echo "down failed three times before a round:" >&2
  tail -5 "$1" >&2
  exit 1
}

echo "baseline: a first up"
start=$(now); up >/dev/null 2>&1; normal=$(elapsed "$start" "$(now)")
echo "  a full up takes ${normal}s"

kill_ok=0 kill_worst=0
for ((i = 1; i <= KILL_RUNS; i++)); do
  clean_slate "$work/down-$i.log"
  at=$(random_between 1 "$normal")
  # The binary itself, not a shell function around it: killing the function's subshell
  # would leave the run going on.
  "$bin" up --profile small -f "$values" -o json >"$work/killed-$i.log" 2>&1 &
  pid=$!
  sleep "$at"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  start=$(now)
  ok=0
  for attempt in 1 2 3; do
    if up --wait-for-lock 90s >"$work/rerun-$i-$attempt.log" 2>&1; then ok=1; break; fi
  done
  took=$(elapsed "$start" "$(now)")
  if ((ok)) && converged; then
    kill_ok=$((kill_ok + 1))
    echo "kill round $i: killed at ${at}s, converged in ${took}s"
  else
    echo "kill round $i: killed at ${at}s, NOT converged"
    echo "  down: $(tail -3 "$work/down-$i.log" | tr '\n' ' ')"
    echo "  killed run, last events: $(tail -3 "$work/killed-$i.log" | tr '\n' ' ')"
    for f in "$work"/rerun-"$i"-*.log; do echo "  $(basename "$f"): $(grep -E 'error|FAILED' "$f" | tail -3 | tr '\n' ' ')"; done
  fi
  kill_worst=$(python3 -c "print(max($kill_worst, $took))")
done

restart_ok=0 restart_worst=0
for ((i = 1; i <= RESTART_RUNS; i++)); do
  clean_slate "$work/down-restart-$i.log"
  at=$(random_between 1 "$normal")
  start=$(now)
  "$bin" up --profile small -f "$values" >/dev/null 2>&1 &
  pid=$!
  sleep "$at"
  "$testbed" restart --name "$name" apiserver >/dev/null
  if wait "$pid" && converged; then
    restart_ok=$((restart_ok + 1))
    took=$(elapsed "$start" "$(now)")
    echo "restart round $i: restarted at ${at}s, up exited 0 after ${took}s"
    restart_worst=$(python3 -c "print(max($restart_worst, $took))")
  else
    echo "restart round $i: restarted at ${at}s, up FAILED"
  fi
done

echo
echo "| scenario | rounds | converged | worst time to converge |"
echo "|---|---|---|---|"
echo "| SIGKILL at a random moment, then \`up\` again | $KILL_RUNS | $kill_ok/$KILL_RUNS | ${kill_worst}s |"
echo "| API server restarted at a random moment mid-run | $RESTART_RUNS | $restart_ok/$RESTART_RUNS | ${restart_worst}s (whole run) |"
