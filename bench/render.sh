#!/usr/bin/env bash
# Benchmark: `landscape render --profile large` against `helm template` of the same charts,
# run one after another with the same values and flags, in the same run.
#
#   bench/render.sh [RUNS]      (default 3)
#
# landscape's helm is a recording wrapper (LANDSCAPE_HELM), which logs every `helm
# template` landscape runs — its values file copied — and then runs the real helm. The
# last invocation of each chart is then replayed with the real helm, one after another.
# Cold: an empty render cache (downloads already in their cache, as in CI after the first
# job); warm: the render cache filled. No cluster: charts are rendered for the default
# Kubernetes version. Not a test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${1:-3}
landscape=$repo/target/release/landscape
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && cargo build --release --quiet)
"$repo/tests/testbed/testbed" build >/dev/null
helm=$(command -v helm || ls "${LANDSCAPE_TESTBED_CACHE:-$HOME/.cache/landscape-testbed}"/helm-*/bin/helm | head -1)
values=$repo/tests/testbed/demo/large.yaml
export LANDSCAPE_CACHE_DIR=$work/cache LANDSCAPE_MIRROR=$repo/../shared/upstream

# The recording wrapper.
mkdir -p "$work/calls"
cat >"$work/helm" <<EOF2
#!/usr/bin/env bash
if [[ \$1 == template ]]; then
  # Charts render in parallel: a name from the clock and the pid, never shared.
  n=\$(date +%s%N)_\$\$
  args=("\$@")
  for i in "\${!args[@]}"; do
    if [[ \${args[\$i]} == --values ]]; then
      cp "\${args[\$((i + 1))]}" "$work/calls/\$n.values"
      args[\$((i + 1))]="$work/calls/\$n.values"
    fi
  done
  printf '%s\0' "\${args[@]}" >"$work/calls/\$n.args"
fi
exec "$helm" "\$@"
EOF2
chmod +x "$work/helm"

measure() {
  python3 -c '
import subprocess, sys, time, statistics
runs = int(sys.argv[1]); prepare = sys.argv[2]; cmd = sys.argv[3:]
times = []
for _ in range(runs):
    if prepare: subprocess.run(prepare, shell=True, check=True)
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    times.append(time.monotonic() - t)
print(f"{statistics.median(times):.2f}")
' "$@"
}

# Fill the download cache and record the helm calls.
LANDSCAPE_HELM=$work/helm "$landscape" render --profile large -f "$values" >/dev/null
export LANDSCAPE_HELM=$helm
cold=$(measure "$runs" "rm -rf '$work/cache/renders'" "$landscape" render --profile large -f "$values")
warm=$(measure "$runs" "" "$landscape" render --profile large -f "$values")

# The last call of each chart (release and archive), replayed one after another.
python3 - "$work/calls" "$work/replay.sh" "$helm" <<'PY'
import os, sys, shlex
calls, out, helm = sys.argv[1], sys.argv[2], sys.argv[3]
last = {}
for f in sorted((f for f in os.listdir(calls) if f.endswith(".args")), key=lambda f: int(f.split("_")[0])):
    args = open(os.path.join(calls, f), "rb").read().split(b"\0")[:-1]
    args = [a.decode() for a in args]
    last[tuple(args[-2:])] = args
with open(out, "w") as o:
    o.write("set -e\n")
    for args in last.values():
        o.write(shlex.join([helm] + args) + " >/dev/null\n")
print(len(last), file=sys.stderr)
PY
charts=$(grep -c template "$work/replay.sh")
helm_time=$(measure "$runs" "" bash "$work/replay.sh")
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<EOF2
render --profile large, $charts charts, $runs runs, $(nproc) cores, $(date -u +%Y-%m-%d)
| run | landscape render | helm template, one chart after another | landscape ÷ helm |
|---|---|---|---|
| cold (empty render cache) | ${cold} s | ${helm_time} s | $(ratio "$cold" "$helm_time") |
| warm | ${warm} s | ${helm_time} s | $(ratio "$warm" "$helm_time") |
EOF2
