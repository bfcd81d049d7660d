#!/usr/bin/env bash
# npm packages and the build, redone only when the lockfile or the sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<3)) { console.error("dbaas needs Node.js >= 20.3 (found "+process.version+")"); process.exit(2) }'
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund   # runs `prepare` → npm run build
else
  npm run --silent build
fi
