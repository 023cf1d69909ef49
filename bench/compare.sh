#!/usr/bin/env bash
# Measures the project's hot kernels and the reference C++ kernels in one run on this machine and prints
# the ratios the issues set targets on. Usage: bash bench/compare.sh DIR, DIR holding the reference kernels and
# their run-reference script (not part of this repository; docs/operations.md, "Benchmarks"). CI does not run this.
set -euo pipefail
cd "$(dirname "$0")/.."
ref_dir=${1:?usage: bash bench/compare.sh DIR (the directory of the reference kernels, with its run-reference script)}
dotnet build bench/QaActors.Benchmarks -c Release -nologo -v q >/dev/null
ours=$(dotnet bench/QaActors.Benchmarks/bin/Release/net10.0/QaActors.Benchmarks.dll quick)
ref=$(bash "$ref_dir/run-reference")
echo "$ref"
echo "$ours"
num() { grep -o "$2=[0-9.eE+-]*" <<<"$1" | head -1 | cut -d= -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%.2f", a / b }'; }
ref_gibbs=$(num "$(grep '^gibbs=' <<<"$ref")" spin_updates_per_s)
ref_mv=$(num "$(grep '^mv=batch16' <<<"$ref")" GFLOPs)
our_gibbs=$(num "$(grep '^gibbs_star' <<<"$ours" || true)" spin_updates_per_s)
our_mv=$(num "$(grep '^mv_batch16' <<<"$ours" || true)" GFLOPs)
our_anneal=$(num "$(grep '^anneal_star' <<<"$ours" || true)" spin_flip_attempts_per_s)
echo "ratio gibbs_star / reference gibbs_simd spin updates per s: $(ratio "$our_gibbs" "$ref_gibbs") (target >= 0.5)"
echo "ratio mv_batch16 / reference mv batch16 GFLOP/s:          $(ratio "$our_mv" "$ref_mv") (target >= 0.5)"
echo "anneal_star spin-flip attempts per s:                     ${our_anneal:-n/a} (target >= 8e7)"
