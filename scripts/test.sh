#!/usr/bin/env bash
# The README's test command. On a fresh Debian machine (as root) it installs and starts what the
# tests need — npm packages, Docker engine, base + component images, the Temporal CLI, Prometheus,
# chromium — then runs unit, workflow and integration tests with node's test runner. Tests start
# their own Temporal dev server (createLocal) and name their clusters t-*.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
node bin/dbaas.js dev up --no-server
# The dashboard test (observability.test) drives Debian's chromium with playwright-core; a fresh
# CI machine has none. It installs in the background while the integration files before that one
# run (apt and dpkg, mostly disk and network), and is waited for before it.
chromium_install=
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && [ -f /etc/debian_version ]; then
    echo "installing chromium with apt-get in the background (the dashboard test's browser; log /tmp/dbaas-chromium-apt.log)"
    ( DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq update &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq install -y --no-install-recommends chromium ) >/tmp/dbaas-chromium-apt.log 2>&1 &
    chromium_install=$!
  else
    echo "no /usr/bin/chromium: the dashboard test skips (Debian, as root: apt-get install --no-install-recommends chromium)" >&2
  fi
fi
# Integration files one at a time (they start real clusters; the machine has 2 cores); then the
# unit and workflow files two at a time (fakes and a Temporal dev server of their own each, on
# free ports: nothing shared between them).
integration=$(find dist/test/integration -name '*.test.js' | sort)
fast=$(find dist/test -name '*.test.js' -not -path 'dist/test/integration/*' | sort)
count=$(printf '%s\n%s\n' "$integration" "$fast" | grep -c . || true)
if [ "$count" -eq 0 ]; then echo "no test files found under dist/test" >&2; exit 1; fi
echo "running $count test files"
# A stuck test fails instead of hanging the run (its process is killed, the next file runs).
# Node 20 runs each file as one test in its own process, so there the limit bounds each whole
# file (integration files take minutes on a loaded 2-core machine: 15 min leaves a wide margin);
# from Node 22 on it bounds each test. Node < 20.11 lacks the flag and runs without it.
timeout_ms=${DBAAS_TEST_TIMEOUT_MS:-900000}
timeout_flag=()
if [[ "$(node --help)" == *--test-timeout* ]]; then timeout_flag=(--test-timeout="$timeout_ms"); fi
pass=0
fail=0
status=0
# run_files CONCURRENCY FILES...: the spec reporter and each file's wall time on stdout; counts added up.
run_files() {
  local concurrency=$1
  shift
  [ "$#" -gt 0 ] || return 0
  local tap rc=0
  tap=$(mktemp)
  node --test --test-concurrency="$concurrency" "${timeout_flag[@]}" --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    --test-reporter=./scripts/file-times-reporter.mjs --test-reporter-destination=stdout "$@" || rc=$?
  pass=$((pass + $(sed -n 's/^# pass //p' "$tap" | tail -1 | grep . || echo 0)))
  fail=$((fail + $(sed -n 's/^# fail //p' "$tap" | tail -1 | grep . || echo 0)))
  rm -f "$tap"
  if [ "$rc" -ne 0 ]; then status=$rc; fi
}
# The files before the dashboard's, then (chromium installed) the rest.
before_browser=$(echo "$integration" | awk '$0 < "dist/test/integration/observability"')
from_browser=$(echo "$integration" | awk '$0 >= "dist/test/integration/observability"')
# shellcheck disable=SC2086
run_files 1 $before_browser
if [ -n "$chromium_install" ]; then
  wait "$chromium_install" || { echo "installing chromium failed (the dashboard test skips):" >&2; tail -5 /tmp/dbaas-chromium-apt.log >&2; }
fi
# shellcheck disable=SC2086
run_files 1 $from_browser
# Two at a time: the per-file wall times printed for these overlap.
# shellcheck disable=SC2086
run_files 2 $fast
echo "${pass} passed, ${fail} failed"
if [ "$status" -eq 0 ] && [ "$pass" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
exit "$status"
