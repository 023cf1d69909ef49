#!/usr/bin/env bash
# A local three-node QaActors cluster on PostgreSQL (Debian's package) plus `qa sapi-sim`, for drills and demos.
#   bash deploy/cluster.sh start    # PostgreSQL database qa_cluster, sapi-sim, nodes on cluster ports 4053-4055, APIs 4181-4183
#   bash deploy/cluster.sh status   # members as node 1 sees them
#   bash deploy/cluster.sh stop     # SIGTERM every node (graceful leave) and the simulator
# State lives in ${QA_CLUSTER_DIR:-runs/cluster}: one data dir per node (admin-token, logs), pids, the simulator log.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${QA_CLUSTER_DIR:-runs/cluster}
qa_dll=src/QaActors.Cli/bin/Release/net10.0/qa.dll
db="Host=127.0.0.1;Port=${PGPORT:-5432};Database=qa_cluster;Username=qa;Password=qa"

start() {
  mkdir -p "$dir"
  [ -f "$qa_dll" ] || { echo "cluster: building qa (dotnet build, about a minute)"; dotnet build src/QaActors.Cli -c Release -nologo -v q; }
  # PostgreSQL from Debian's packages, on loopback: installed and started if needed.
  command -v pg_ctlcluster >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
  pgver=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_lsclusters -h | grep -q online || pg_ctlcluster "$pgver" main start
  if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='qa'\"" | grep -q 1; then
    su postgres -c "psql -q -c \"CREATE ROLE qa LOGIN PASSWORD 'qa'\""
  fi
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='qa_cluster'\"" | grep -q 1 || su postgres -c "createdb -O qa qa_cluster"
  # Each node reads datasets from its own data dir: fetch once into the cache, then copy.
  dotnet "$qa_dll" data fetch >/dev/null
  cache=${QA_DATA_DIR:-$HOME/.cache/qaactors}
  dotnet "$qa_dll" sapi-sim --port 0 >"$dir/sapi-sim.log" 2>&1 &
  echo $! >"$dir/sapi-sim.pid"
  for _ in $(seq 1 120); do grep -q 'sapi-sim endpoint:' "$dir/sapi-sim.log" && break; sleep 0.5; done
  endpoint=$(grep -o 'http://127.0.0.1:[0-9]*/sapi/v2/' "$dir/sapi-sim.log" | head -1)
  [ -n "$endpoint" ] || { echo "cluster: qa sapi-sim did not start" >&2; cat "$dir/sapi-sim.log" >&2; exit 1; }
  for i in 1 2 3; do
    mkdir -p "$dir/node$i"
    cp "$cache"/*.qads "$dir/node$i/"
    # Every node names all three as seeds: a restarted node joins the others instead of forming a cluster of its own,
    # and the first, when none of the others answers (about 5 s), forms the cluster.
    seeds="--seed-nodes akka.tcp://qa@127.0.0.1:4053,akka.tcp://qa@127.0.0.1:4054,akka.tcp://qa@127.0.0.1:4055"
    DWAVE_API_ENDPOINT=$endpoint DWAVE_API_TOKEN=sim-token \
      dotnet "$qa_dll" node --data-dir "$dir/node$i" --db "$db" --port $((4052 + i)) --api 127.0.0.1:$((4180 + i)) $seeds \
      >"$dir/node$i/node.log" 2>&1 &
    echo $! >"$dir/node$i.pid"
    for _ in $(seq 1 120); do grep -q 'qa node ready' "$dir/node$i/node.log" && break; sleep 0.5; done
    grep 'qa node ready' "$dir/node$i/node.log" || { echo "cluster: node $i did not start:" >&2; cat "$dir/node$i/node.log" >&2; exit 1; }
  done
  echo "cluster: admin token of node 1 in $dir/node1/admin-token; e.g. QA_SERVER=http://127.0.0.1:4181 QA_TOKEN=\$(cat $dir/node1/admin-token) qa experiment list"
}

stop() {
  for f in "$dir"/node*.pid "$dir"/sapi-sim.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  echo "cluster: stopped"
}

status() {
  curl -s -H "Authorization: Bearer $(cat "$dir/node1/admin-token")" http://127.0.0.1:4181/api/v1/cluster
  echo
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: bash deploy/cluster.sh start|status|stop" >&2; exit 2 ;;
esac
