#!/usr/bin/env bash
# Runs every test: builds the solution, makes sure the datasets are in the local cache (npm pack, once),
# then runs all test projects, and the numeric ones again without AVX-512 and without SIMD.
# Usage: bash deploy/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build QaActors.sln -c Release -nologo -v q
if [ -f src/QaActors.Cli/bin/Release/net10.0/qa.dll ] && dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll data fetch --help >/dev/null 2>&1; then
  dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll data fetch
fi
dotnet test QaActors.sln -c Release --no-build -nologo "$@"
# The numeric kernels pick Vector512, Vector256 or scalar code by what the CPU offers, so a machine with AVX-512 would
# otherwise test only the first: run the numeric tests again as an AVX2 machine and as one without SIMD.
for simd in DOTNET_EnableAVX512F=0 DOTNET_EnableHWIntrinsic=0; do
  for t in Sampling Learning; do
    echo "== QaActors.$t.Tests with $simd"
    env "$simd" dotnet test "tests/QaActors.$t.Tests" -c Release --no-build -nologo "$@"
  done
done
