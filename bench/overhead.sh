#!/usr/bin/env bash
# Issue 4's overhead figure: the same `qa train --method gibbs` through the actor system (default engine, SQLite
# journal, checkpoint per step) and called directly on the science library (--engine direct), alternated in one run
# on this machine. Prints each wall time and the ratio of the medians. Usage: bash bench/overhead.sh [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
dotnet build src/QaActors.Cli -c Release -nologo -v q >/dev/null
qa() { dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(train --dataset mnist --classes 0,1 --method gibbs --train-size 20 --batch 5 --lr 0.1 --steps 20 --reads 100 --sweeps 1000 --json)
declare -a direct actors
for i in $(seq 1 "$n"); do
  s=$(date +%s.%N); qa "${args[@]}" --engine direct --out "$work/d$i" >/dev/null; e=$(date +%s.%N)
  direct+=("$(echo "$e - $s" | bc)")
  s=$(date +%s.%N); qa "${args[@]}" --engine actors --out "$work/a$i" --db "$work/a$i.db" >/dev/null; e=$(date +%s.%N)
  actors+=("$(echo "$e - $s" | bc)")
  cmp -s "$work/d$i/model.safetensors" "$work/a$i/model.safetensors" || { echo "models differ between engines" >&2; exit 1; }
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
md=$(median "${direct[@]}"); ma=$(median "${actors[@]}")
echo "direct (s): ${direct[*]}"
echo "actors (s): ${actors[*]}"
echo "median direct ${md} s, actors ${ma} s, ratio actors/direct $(echo "scale=3; $ma / $md" | bc) (target <= 1.15); models identical"
