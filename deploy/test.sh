#!/usr/bin/env bash
# Runs every test: builds the solution, makes sure the datasets are in the local cache (npm pack, once),
# then runs all test projects, and the numeric ones again without AVX-512 and without SIMD, and checks that the
# samplers give the same bits at every vector width.
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
# (.NET 10 reads DOTNET_EnableAVX512; the older DOTNET_EnableAVX512F is ignored and left AVX-512 on.)
for simd in DOTNET_EnableAVX512=0 DOTNET_EnableHWIntrinsic=0; do
  for t in Sampling Learning; do
    echo "== QaActors.$t.Tests with $simd (RealDataTests ran once above and are skipped here)"
    env "$simd" QA_REAL_DATA=0 dotnet test "tests/QaActors.$t.Tests" -c Release --no-build -nologo "$@"
  done
done
# A trainer that moves to a node with another instruction set must continue bit for bit, so the samplers must give the
# same bits at every width: sample a fixed star (the M = 1 network) and a fixed 5x40 bipartite problem (the EBM's shape)
# with gibbs and anneal under each setting and compare hashes of the samples (timings left out).
shopt -s inherit_errexit # a failing sample inside $(...) must stop the script
probs=$(mktemp -d)
trap 'rm -rf "$probs"' EXIT
awk 'BEGIN { srand(7); n = 549; printf "{\"vartype\": \"SPIN\", \"linear\": [";
  for (i = 0; i < n; i++) printf "%s[%d, %.6f]", (i ? ", " : ""), i, 4 * rand() - 2;
  printf "], \"quadratic\": ["; for (k = 1; k < n; k++) printf "%s[0, %d, %.6f]", (k > 1 ? ", " : ""), k, 2 * rand() - 1;
  print "], \"offset\": 0.0}" }' >"$probs/star.json"
awk 'BEGIN { srand(11); a = 5; b = 40; printf "{\"vartype\": \"BINARY\", \"linear\": [";
  for (i = 0; i < a + b; i++) printf "%s[%d, %.6f]", (i ? ", " : ""), i, 3 * rand() - 1.5;
  printf "], \"quadratic\": ["; sep = "";
  for (i = 0; i < a; i++) for (k = a; k < a + b; k++) { printf "%s[%d, %d, %.6f]", sep, i, k, 3 * rand() - 1.5; sep = ", " }
  print "], \"offset\": 0.0}" }' >"$probs/km.json"
sample_hash() {
  for p in star km; do
    for args in "--sampler gibbs --beta 0.3" "--sampler anneal --beta 0.3" "--sampler anneal --beta-range 0.1,3"; do
      # shellcheck disable=SC2086 # $args is a list of options
      env "$@" dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll sample --problem "$probs/$p.json" $args \
        --reads 20 --sweeps 100 --seed 5 --json | grep -v '"sampling_time"'
    done
  done | sha256sum | cut -c1-16
}
reference=$(sample_hash)
echo "== samples at the CPU's own width: $reference"
for simd in DOTNET_EnableAVX512=0 DOTNET_EnableAVX2=0 DOTNET_EnableHWIntrinsic=0; do
  h=$(sample_hash "$simd")
  echo "== samples with $simd: $h"
  if [ "$h" != "$reference" ]; then
    echo "FAIL: gibbs/anneal samples with $simd differ from the CPU's own width ($h vs $reference)" >&2
    exit 1
  fi
done
