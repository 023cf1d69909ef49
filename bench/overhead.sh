#!/usr/bin/env bash
# Issue 4's overhead figures: `qa train --method gibbs` (the paper's Sec. 5.2 Classical-2 run) through the actor
# system against the same training called directly on the science library, same machine, same run, results compared
# bit for bit.
#  1. On a running node (what a campaign sees): `quick train_overhead` starts the node once, then alternates direct
#     runs and actor runs (each a new experiment, every step persisted to SQLite) after warm-up pairs (default 6: the
#     JIT takes that long to tier up the actor path's code, as it does once on a campaign's long-lived node).
#  2. Per process (what one `qa train` command costs): `qa train` and `qa train --engine direct`, alternated; the
#     actor run also pays the node's boot, the first use (JIT) of the actor and journal code, and the node's leave.
#     QA_OVERHEAD_R2R=1 runs part 2 with a ReadyToRun-published qa (precompiled: less JIT at startup).
# Usage: bash bench/overhead.sh [repeats of part 2]   (part 1: QA_OVERHEAD_RUNS, QA_OVERHEAD_WARMUP, QA_OVERHEAD_STEPS)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
dotnet build src/QaActors.Cli -c Release -nologo -v q >/dev/null
dotnet build bench/QaActors.Benchmarks -c Release -nologo -v q >/dev/null
echo "== on a running node"
dotnet bench/QaActors.Benchmarks/bin/Release/net10.0/QaActors.Benchmarks.dll quick train_overhead

echo "== per process"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
qa_dll=src/QaActors.Cli/bin/Release/net10.0/qa.dll
if [ "${QA_OVERHEAD_R2R:-0}" = 1 ]; then
  dotnet publish src/QaActors.Cli -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$work/r2r" -nologo -v q >/dev/null
  qa_dll=$work/r2r/qa.dll
  echo "(ReadyToRun-published qa)"
fi
qa() { dotnet "$qa_dll" "$@"; }
args=(train --dataset mnist --classes 0,1 --method gibbs --train-size 20 --batch 5 --lr 0.1 --steps 20 --reads 100 --sweeps 1000 --json)
declare -a direct actors
for i in $(seq 1 "$n"); do
  s=$(date +%s.%N); qa "${args[@]}" --engine direct --out "$work/d$i" >/dev/null; e=$(date +%s.%N)
  direct+=("$(echo "$e - $s" | bc)")
  s=$(date +%s.%N); qa "${args[@]}" --engine actors --out "$work/a$i" --db "$work/a$i.db" >/dev/null 2>&1; e=$(date +%s.%N)
  actors+=("$(echo "$e - $s" | bc)")
  cmp -s "$work/d$i/model.safetensors" "$work/a$i/model.safetensors" || { echo "models differ between engines" >&2; exit 1; }
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
md=$(median "${direct[@]}"); ma=$(median "${actors[@]}")
echo "direct (s): ${direct[*]}"
echo "actors (s): ${actors[*]}"
echo "median direct ${md} s, actors ${ma} s, ratio actors/direct $(echo "scale=3; $ma / $md" | bc); models identical"
