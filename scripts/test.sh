#!/usr/bin/env bash
# The README's test command. On a fresh Debian machine (as root) it installs and starts what the
# tests need — npm packages, Docker engine, base + component images, the Temporal CLI, Prometheus,
# chromium — then runs unit, workflow and integration tests with node's test runner. Tests start
# their own Temporal dev server (createLocal) and name their clusters t-*.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
node bin/dbaas.js dev up --no-server
# The dashboard test drives Debian's chromium with playwright-core; a fresh CI machine has none.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && [ -f /etc/debian_version ]; then
    echo "installing chromium with apt-get (the dashboard test's browser)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq update
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq install -y --no-install-recommends chromium >/dev/null
  else
    echo "no /usr/bin/chromium: the dashboard test skips (Debian, as root: apt-get install --no-install-recommends chromium)" >&2
  fi
fi
files=$(find dist/test -name '*.test.js' | sort)
count=$(echo "$files" | grep -c . || true)
if [ "$count" -eq 0 ]; then echo "no test files found under dist/test" >&2; exit 1; fi
echo "running $count test files"
# A stuck test fails instead of hanging the run (its process is killed, the next file runs).
# Node 20 runs each file as one test in its own process, so there the limit bounds each whole
# file (integration files take minutes on a loaded 2-core machine: 15 min leaves a wide margin);
# from Node 22 on it bounds each test. Node < 20.11 lacks the flag and runs without it.
timeout_ms=${DBAAS_TEST_TIMEOUT_MS:-900000}
timeout_flag=()
if [[ "$(node --help)" == *--test-timeout* ]]; then timeout_flag=(--test-timeout="$timeout_ms"); fi
# One file at a time: integration tests start real clusters and the machine has 2 cores.
tap=$(mktemp)
status=0
# shellcheck disable=SC2086
node --test --test-concurrency=1 "${timeout_flag[@]}" --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  --test-reporter=./scripts/file-times-reporter.mjs --test-reporter-destination=stdout $files || status=$?
pass=$(sed -n 's/^# pass //p' "$tap" | tail -1)
fail=$(sed -n 's/^# fail //p' "$tap" | tail -1)
rm -f "$tap"
echo "${pass:-0} passed, ${fail:-0} failed"
if [ "$status" -eq 0 ] && [ "${pass:-0}" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
exit "$status"
