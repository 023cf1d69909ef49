#!/usr/bin/env bash
# Runs every test: builds the solution, makes sure the datasets are in the local cache (npm pack, once),
# then runs all test projects, and the numeric ones again without AVX-512 and without SIMD.
# Usage: bash deploy/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "== building the solution (Release; the first build restores packages and takes a few minutes)"
dotnet build QaActors.sln -c Release -nologo -v minimal -clp:NoSummary
if [ -f src/QaActors.Cli/bin/Release/net10.0/qa.dll ] && dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll data fetch --help >/dev/null 2>&1; then
  dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll data fetch
  # The data is here, so the quality targets on it (RealDataTests, about a minute) run too; QA_REAL_DATA=0 skips them.
  export QA_REAL_DATA="${QA_REAL_DATA:-1}"
else
  echo "== the datasets could not be fetched (qa was not built): RealDataTests are skipped (they need QA_REAL_DATA=1 and the data)"
fi
[ "${QA_REAL_DATA:-0}" = 1 ] || echo "== QA_REAL_DATA is not 1: the two RealDataTests (quality on the full datasets) are skipped"
dotnet test QaActors.sln -c Release --no-build -nologo "$@"
# The numeric kernels pick Vector512, Vector256 or scalar code by what the CPU offers, so a machine with AVX-512 would
# otherwise test only the first: run the numeric tests again as an AVX2 machine and as one without SIMD. The
# RealDataTests ran once above; their kernels are the ones these runs cover, so they are not repeated here.
for simd in DOTNET_EnableAVX512F=0 DOTNET_EnableHWIntrinsic=0; do
  for t in Sampling Learning; do
    echo "== QaActors.$t.Tests with $simd (RealDataTests ran once above and are skipped here)"
    env "$simd" QA_REAL_DATA=0 dotnet test "tests/QaActors.$t.Tests" -c Release --no-build -nologo "$@"
  done
done
