#!/bin/bash
# Where a full backup's time goes on the repository host (bench/backup-restore.md, session 10):
# the same backup by hand on the host with root's config (plain), the same with the
# --log-level-file=detail dbaas adds (detail), and `dbaas backup run` spawn→exit (dbaas), three
# rounds on a ~1 GB pgbench database. Needs `dbaas dev up`; run it alone on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-bench-phases}
H=dbaas-backup
L=dbaas-$C-pg-0
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
node bin/dbaas.js cluster create "$C" --replicas 1 --profile fast >/dev/null
trap 'node bin/dbaas.js cluster delete "$C" --purge-backups --yes >/dev/null' EXIT
docker exec "$L" /usr/lib/postgresql/15/bin/pgbench -i -s 66 -q -h /var/run/postgresql postgres >/dev/null 2>&1
echo "database: $(docker exec "$L" psql -h /var/run/postgresql -d postgres -XAtc "select pg_size_pretty(pg_database_size('postgres'))")"
# The first dbaas backup writes root's config of the stanza (pg1 the leader, pg2 the standby).
node bin/dbaas.js backup run "$C" --type full >/dev/null
seconds() { local t0; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $t0" | bc; }
hand() { docker exec "$H" pgbackrest --config=/etc/pgbackrest/root/"$C"/pgbackrest.conf --stanza="$C" --backup-standby --type=full "$@" backup; }
for i in 1 2 3; do
  echo "round $i: plain $(seconds hand) s, detail $(seconds hand --log-level-file=detail) s, dbaas $(seconds node bin/dbaas.js backup run "$C" --type full) s"
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
