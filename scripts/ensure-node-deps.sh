#!/usr/bin/env bash
# npm packages (exactly the committed lockfile) and the build, redone only when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<3)) { console.error("dbaas needs Node.js >= 20.3 (found "+process.version+")"); process.exit(2) }'
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Not `npm ci`: registries without the darwin/win32 builds of @swc/core (optional, per
  # platform) produce a lockfile without them, which `npm ci` rejects as out of sync.
  # `npm install` installs the locked versions and leaves the lockfile as committed.
  npm install --ignore-scripts --no-audit --no-fund
fi
npm run --silent build
