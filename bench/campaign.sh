#!/usr/bin/env bash
# The campaign issue's throughput figures (docs/campaigns.md, "Throughput"):
#  1. The Sec. 5.2 classical part of hocon/campaigns/paper.conf (its 16 pairs x backprop, gibbs x 5 seeds, the paper's
#     settings) as one campaign on one `qa node` (SQLite), whole `qa campaign run` command, against the sum of the same
#     experiments' direct-engine times (`qa campaign run --local`: one cell after the other in one process, each cell's
#     wall time is its DirectTrainer run) divided by the cores. Target: ratio <= 1.3. Each experiment's direct time is
#     taken on one core (the --local run under `taskset -c 0`): "sum / cores" is the time of single-core jobs packed
#     perfectly on the cores, while the direct engine on all cores already samples a batch's examples in parallel
#     (about 1.75 of 2 cores busy), so its own times divided by the cores again would ask for more than the machine
#     has. The --local run on all cores is timed too, and the node's wall is given against it (docs/campaigns.md).
#  2. With QA_BENCH_POSTGRES (an Npgsql connection string of a role that may create databases, as QA_TEST_POSTGRES in
#     .ci/run): the same campaign on two nodes sharing a fresh database: how many experiments each node ran (target:
#     half each, +- 20 %), and the wall time (both nodes share this machine's cores).
# The results of both runs are compared with the local run's, cell by cell (every recorded metric, to the bit).
# Usage: bash bench/campaign.sh [pairs (1-16, default 16)] [seeds (default 5)] [max-concurrent (default: paper.conf's 4)]
#   quick form: bash bench/campaign.sh 4 2   (4 pairs x 2 methods x 2 seeds = 16 experiments)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-16}
seeds=${2:-5}
concurrent=${3:-4}
[[ $pairs =~ ^[0-9]+$ && $pairs -ge 1 && $pairs -le 16 ]] || { echo "bench: pairs must be 1-16 (the paper's 11 MNIST and 5 Fashion-MNIST pairs), not '$pairs'" >&2; exit 2; }
[[ $seeds =~ ^[0-9]+$ && $seeds -ge 1 ]] || { echo "bench: seeds must be a positive count, not '$seeds'" >&2; exit 2; }
[[ $concurrent =~ ^[0-9]+$ && $concurrent -ge 1 ]] || { echo "bench: max-concurrent must be a positive count, not '$concurrent'" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench: jq is required" >&2; exit 1; }
dotnet build src/QaActors.Cli -c Release -nologo -v q >/dev/null
qa_dll=src/QaActors.Cli/bin/Release/net10.0/qa.dll
qa() { dotnet "$qa_dll" "$@"; }
work=$(mktemp -d)
pids=()
db=""
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "$db" ]; then psql_admin -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
qa data fetch >/dev/null
cache=${QA_DATA_DIR:-$HOME/.cache/qaactors}
cores=$(nproc)

# The first N of paper.conf's Sec. 5.2 pairs, in the order of its tables.
all=(mnist:2,3 mnist:3,9 mnist:5,7 mnist:4,8 mnist:5,6 mnist:5,9 mnist:0,6 mnist:6,8 mnist:0,1 mnist:1,3 mnist:8,9
     fashion-mnist:2,3 fashion-mnist:3,9 fashion-mnist:5,7 fashion-mnist:5,6 fashion-mnist:4,8)
mnist=() fashion=()
for p in "${all[@]:0:$pairs}"; do
  case $p in mnist:*) mnist+=("\"${p#mnist:}\"") ;; fashion-mnist:*) fashion+=("\"${p#fashion-mnist:}\"") ;; esac
done
# One object per line: two objects side by side on one line are one object in HOCON (the later keys win).
datasets=""
[ ${#mnist[@]} -gt 0 ] && datasets+="    { dataset = mnist, pairs = [$(IFS=,; echo "${mnist[*]}")] }"$'\n'
[ ${#fashion[@]} -gt 0 ] && datasets+="    { dataset = fashion-mnist, pairs = [$(IFS=,; echo "${fashion[*]}")] }"$'\n'
spec=$work/classical.conf
cat >"$spec" <<EOF
campaign {
  name = "bench-classical"
  datasets = [
$datasets  ]
  methods = [backprop, gibbs]
  seeds = [$(seq -s, 1 "$seeds")]
  settings { train-size = 20, test-size = all, batch = 5, lr = 0.1, steps = 20, reads = 100, fallback = gibbs }
  max-concurrent = $concurrent
}
EOF
n=$((pairs * 2 * seeds))
echo "campaign: $pairs pairs x backprop, gibbs x $seeds seeds = $n experiments, max-concurrent $concurrent, $cores cores"
now() { date +%s.%N; }
# (pair, method, seed) -> every recorded metric of every recorded step, one line per cell (eval-every 1: every step).
fingerprint() { jq -r '.cells[] | "\(.dataset)-\(.class_a)-\(.class_b)-\(.method)-s\(.seed) " + ([.history[] | "\(.step):\(.values | tostring)"] | join(";"))' "$1" | sort; }

# Part 0: the direct engine, one cell after the other: on one core (the reference), then on all cores.
command -v taskset >/dev/null || { echo "bench: taskset (util-linux) is required to time the direct engine on one core" >&2; exit 1; }
local_run() { # name [command prefix...]
  local name=$1; shift
  mkdir -p "$work/$name"
  cp "$cache"/*.qads "$work/$name/"
  local s e
  s=$(now)
  "$@" dotnet "$qa_dll" campaign run "$spec" --local --out "$work/$name/out" --data-dir "$work/$name" --json >"$work/$name.json" 2>/dev/null
  e=$(now)
  echo "$e - $s" | bc >"$work/$name.wall"
  [ "$(jq '.cells | length' "$work/$name.json")" = "$n" ] || { echo "bench: the campaign file expanded to $(jq '.cells | length' "$work/$name.json") cells, not $n" >&2; cat "$spec" >&2; exit 1; }
}
local_run local taskset -c 0
direct=$(jq '[.cells[].wall_seconds] | add' "$work/local.json")
echo "direct engine on one core: sum of the $n experiments' times ${direct} s (the --local command took $(cat "$work/local.wall") s)"
fingerprint "$work/local.json" >"$work/local.fp"
local_run local-all env
fingerprint "$work/local-all.json" >"$work/local-all.fp"
cmp -s "$work/local.fp" "$work/local-all.fp" || { echo "bench: the direct engine's results on one core and on $cores differ" >&2; exit 1; }
direct_all=$(jq '[.cells[].wall_seconds] | add' "$work/local-all.json")
echo "direct engine on $cores cores: sum of the experiments' times ${direct_all} s (the --local command took $(cat "$work/local-all.wall") s); results identical to one core's"

start_node() { # data-dir log [args...]
  local dir=$1 log=$2; shift 2
  # Started directly, not through the qa function: that would put a subshell between $! and the node, and the
  # TERM below would stop the subshell and leave the node running.
  dotnet "$qa_dll" node --data-dir "$dir" --api 127.0.0.1:0 "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 360); do grep -q 'qa node ready' "$log" && return 0; sleep 0.25; done
  echo "bench: a node did not start" >&2; cat "$log" >&2; exit 1
}
api_of() { grep -o 'http://127.0.0.1:[0-9]*/' "$1" | head -1; }
stop_nodes() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}
check_same() { # report.json
  [ "$(jq '.cells | length' "$1")" = "$n" ] || { echo "bench: the report of the node's campaign has $(jq '.cells | length' "$1") of the $n cells" >&2; exit 1; }
  fingerprint "$1" >"$work/node.fp"
  cmp -s "$work/local.fp" "$work/node.fp" || { echo "bench: the node's results differ from the direct engine's" >&2; diff "$work/local.fp" "$work/node.fp" | head -5 >&2; exit 1; }
}

# Part 1: one node. One short campaign first: a long-lived node pays its JIT once, not per campaign.
mkdir -p "$work/one"
cp "$cache"/*.qads "$work/one/"
start_node "$work/one" "$work/one.log"
export QA_SERVER QA_TOKEN
QA_SERVER=$(api_of "$work/one.log")
QA_TOKEN=$(cat "$work/one/admin-token")
sed -e 's/name = "bench-classical"/name = "bench-warm-up"/' -e 's/seeds = \[[0-9,]*\]/seeds = [101]/' "$spec" >"$work/warm.conf"
qa campaign run "$work/warm.conf" --json >/dev/null
s=$(now)
qa campaign run "$spec" --json >"$work/one-status.json"
e=$(now)
wall=$(echo "$e - $s" | bc)
id=$(jq -r .campaign_id "$work/one-status.json")
[ "$(jq -r .state "$work/one-status.json")" = completed ] || { echo "bench: the campaign did not complete: $(jq -c '{state, completed, failed}' "$work/one-status.json")" >&2; exit 1; }
qa campaign report "$id" --out "$work/one-report" --json >"$work/one-report.json"
check_same "$work/one-report.json"
ideal=$(echo "scale=3; $direct / $cores" | bc)
echo "one node: campaign wall ${wall} s; one-core direct sum / cores ${ideal} s; ratio $(echo "scale=3; $wall / $ideal" | bc) (target <= 1.3); against the direct engine's cells back to back on all cores ($direct_all s): $(echo "scale=3; $wall / $direct_all" | bc); results identical"
stop_nodes

# Part 2: two nodes on PostgreSQL.
if [ -z "${QA_BENCH_POSTGRES:-}" ]; then
  echo "two nodes: skipped (set QA_BENCH_POSTGRES to an Npgsql connection string whose role may create databases)"
  exit 0
fi
field() { tr ';' '\n' <<<"$QA_BENCH_POSTGRES" | awk -F= -v k="$1" 'tolower($1) == tolower(k) { print substr($0, index($0, "=") + 1) }'; }
psql_admin() { PGPASSWORD=$(field Password) psql -h "$(field Host)" -p "$(field Port)" -U "$(field Username)" -d "$(field Database)" "$@"; }
db=qa_bench_$$_$RANDOM
psql_admin -q -c "CREATE DATABASE $db"
cs="Host=$(field Host);Port=$(field Port);Database=$db;Username=$(field Username);Password=$(field Password)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
p0=$(free_port) p1=$(free_port)
seeds_list="akka.tcp://qa@127.0.0.1:$p0,akka.tcp://qa@127.0.0.1:$p1"
for i in 0 1; do mkdir -p "$work/two$i"; cp "$cache"/*.qads "$work/two$i/"; done
start_node "$work/two0" "$work/two0.log" --db "$cs" --port "$p0" --seed-nodes "$seeds_list"
start_node "$work/two1" "$work/two1.log" --db "$cs" --port "$p1" --seed-nodes "$seeds_list"
QA_SERVER=$(api_of "$work/two0.log")
QA_TOKEN=$(cat "$work/two0/admin-token")
for _ in $(seq 1 360); do
  [ "$(curl -s -H "Authorization: Bearer $QA_TOKEN" "${QA_SERVER}api/v1/cluster" | jq '[.members[] | select(.status == "Up")] | length')" = 2 ] && break
  sleep 0.25
done
qa campaign run "$work/warm.conf" --json >/dev/null
s=$(now)
qa campaign run "$spec" --json >"$work/two-status.json"
e=$(now)
id=$(jq -r .campaign_id "$work/two-status.json")
[ "$(jq -r .state "$work/two-status.json")" = completed ] || { echo "bench: the two-node campaign did not complete" >&2; exit 1; }
qa campaign report "$id" --out "$work/two-report" --json >"$work/two-report.json"
check_same "$work/two-report.json"
echo "two nodes: campaign wall $(echo "$e - $s" | bc) s; experiments per node (half: $(echo "scale=1; $n / 2" | bc), +- 20 %: $(echo "scale=1; $n * 0.4" | bc) to $(echo "scale=1; $n * 0.6" | bc)):"
jq -r --argjson n "$n" '.cells | group_by(.node) | .[] | "  \(.[0].node): \(length) (\(length / $n * 100 | round) %)"' "$work/two-status.json"
