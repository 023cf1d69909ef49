#!/usr/bin/env bash
# Runs every test: builds the solution, makes sure the datasets are in the local cache (npm pack, once),
# then runs all test projects. Usage: bash deploy/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build QaActors.sln -c Release -nologo -v q
if [ -f src/QaActors.Cli/bin/Release/net10.0/qa.dll ] && dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll data fetch --help >/dev/null 2>&1; then
  dotnet src/QaActors.Cli/bin/Release/net10.0/qa.dll data fetch
fi
dotnet test QaActors.sln -c Release --no-build -nologo "$@"
