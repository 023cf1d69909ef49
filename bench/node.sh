#!/usr/bin/env bash
# The cluster issue's speed figures, whole commands as a user types them, against a `qa node` kept running:
#  1. `qa train --method gibbs` of the paper's Sec. 5.2 Classical-2 run through the node (submit, follow the steps
#     live, download the artefacts) against the same command with `--engine direct` (no node, no actors), alternated,
#     models compared bit for bit. Target: median ratio <= 1.15.
#  2. `qa experiment list` against the node (the node holds a few experiments by then). Target: median <= 0.3 s.
# QA_NODE_BENCH_R2R=1 runs the client commands with a ReadyToRun-published qa (precompiled: less JIT per command).
# Usage: bash bench/node.sh [pairs of part 1 (default 5)] [runs of part 2 (default 10)]
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
lists=${2:-10}
dotnet build src/QaActors.Cli -c Release -nologo -v q >/dev/null
work=$(mktemp -d)
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill -TERM "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
qa_dll=src/QaActors.Cli/bin/Release/net10.0/qa.dll
client_dll=$qa_dll
if [ "${QA_NODE_BENCH_R2R:-0}" = 1 ]; then
  dotnet publish src/QaActors.Cli -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$work/r2r" -nologo -v q >/dev/null
  client_dll=$work/r2r/qa.dll
  echo "(ReadyToRun-published qa for the client commands)"
fi
dotnet "$qa_dll" data fetch >/dev/null
cache=${QA_DATA_DIR:-$HOME/.cache/qaactors}
mkdir -p "$work/node" "$work/direct"
cp "$cache"/*.qads "$work/node/"
cp "$cache"/*.qads "$work/direct/"

dotnet "$qa_dll" node --data-dir "$work/node" --api 127.0.0.1:0 >"$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 240); do grep -q 'qa node ready' "$work/node.log" && break; sleep 0.25; done
api=$(grep -o 'http://127.0.0.1:[0-9]*/' "$work/node.log" | head -1)
[ -n "$api" ] || { echo "bench: the node did not start" >&2; cat "$work/node.log" >&2; exit 1; }
export QA_SERVER=$api
QA_TOKEN=$(cat "$work/node/admin-token")
export QA_TOKEN

args=(train --dataset mnist --classes 0,1 --method gibbs --train-size 20 --batch 5 --lr 0.1 --steps 20 --reads 100 --sweeps 1000 --json)
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# One warm-up of each: the node's first run pays its JIT once, as on any long-lived node.
dotnet "$client_dll" "${args[@]}" --out "$work/warm-node" >/dev/null 2>&1
env -u QA_SERVER -u QA_TOKEN dotnet "$client_dll" "${args[@]}" --engine direct --data-dir "$work/direct" --out "$work/warm-direct" >/dev/null 2>&1
declare -a direct node
for i in $(seq 1 "$pairs"); do
  s=$(now); env -u QA_SERVER -u QA_TOKEN dotnet "$client_dll" "${args[@]}" --engine direct --data-dir "$work/direct" --out "$work/d$i" >/dev/null 2>&1; e=$(now)
  direct+=("$(echo "$e - $s" | bc)")
  s=$(now); dotnet "$client_dll" "${args[@]}" --out "$work/n$i" >/dev/null 2>&1; e=$(now)
  node+=("$(echo "$e - $s" | bc)")
  cmp -s "$work/d$i/model.safetensors" "$work/n$i/model.safetensors" || { echo "bench: the node's model differs from the direct engine's" >&2; exit 1; }
done
md=$(median "${direct[@]}"); mn=$(median "${node[@]}")
echo "train direct (s): ${direct[*]}"
echo "train via node (s): ${node[*]}"
echo "median direct ${md} s, via node ${mn} s, ratio $(echo "scale=3; $mn / $md" | bc) (target <= 1.15); models identical"

declare -a list
for _ in $(seq 1 "$lists"); do
  s=$(now); dotnet "$client_dll" experiment list >/dev/null; e=$(now)
  list+=("$(echo "$e - $s" | bc)")
done
echo "experiment list (s): ${list[*]}"
echo "median experiment list $(median "${list[@]}") s with $((pairs + 1)) experiments (target <= 0.3 s)"
