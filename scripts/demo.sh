#!/usr/bin/env bash
# The README's first command: set everything up (npm packages, Docker engine, images, Temporal
# dev server, worker) and end with a running 3-node demo cluster and its connection info.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
node bin/dbaas.js dev up
if node bin/dbaas.js cluster status demo >/dev/null 2>&1; then
  echo "cluster demo already exists"
  # A demo cluster made by an older dbaas has no app role yet; on one that has it, this only verifies.
  node bin/dbaas.js cluster add-app-role demo
else
  node bin/dbaas.js cluster create demo --replicas 2
fi
node bin/dbaas.js cluster status demo
echo
echo "read-write: $(node bin/dbaas.js connect demo)"
echo "read-only:  $(node bin/dbaas.js connect demo --ro)"
echo "Temporal Web UI: ${TEMPORAL_UI:-http://127.0.0.1:8233} (search: ClusterName=\"demo\")"
echo "try: npx dbaas psql demo      (the role app; --superuser for postgres; -- psql args)"
