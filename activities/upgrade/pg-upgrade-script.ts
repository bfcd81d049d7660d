/**
 * The shell script the one-shot helper runs on a member's data volume: `pg_upgrade --link` from
 * one major to the next. Every run starts from what the last one left, so a step retried after
 * a worker was killed (or the helper itself) finishes the same upgrade instead of breaking it:
 *
 * - the data directory already holds the new major: nothing to do;
 * - the marker says pg_upgrade finished: only the swap of directories is (re)done;
 * - otherwise the old data is whole: pg_upgrade in link mode renames the old pg_control before it
 *   links, and nothing was started on the new cluster, so putting pg_control back restores the
 *   old cluster; the half-made new directory is removed and made again.
 */
import { DATA_DIR, DATA_ROOT } from '../../common/render/patroni';
import { pgBinDir, type PostgresVersion } from '../../common/postgres-version';

export type PgUpgradeMode = 'check' | 'upgrade';

/** Where the new cluster is made, and where the old one waits after the swap until the upgrade is done. */
export const nextDataDir = `${DATA_ROOT}/pgdata.next`;
export const oldDataDir = (from: PostgresVersion): string => `${DATA_ROOT}/pgdata.${from}`;
const MARKER = `${DATA_ROOT}/pgdata.next.upgraded`;

/** Exit status of a data directory that holds neither major: never touched. */
export const UNEXPECTED_DATA_EXIT = 3;
/** Exit status of pg_upgrade refusing the data: the old cluster is whole again (pg_control back). Any other failure is retried. */
export const PG_UPGRADE_REFUSED_EXIT = 10;

export function renderPgUpgradeScript(from: PostgresVersion, to: PostgresVersion, mode: PgUpgradeMode): string {
  const data = DATA_DIR;
  const next = nextDataDir;
  const old = oldDataDir(from);
  return `set -eu
version_of() { cat "$1/PG_VERSION" 2>/dev/null || echo none; }
swap() {
  if [ -e ${data} ]; then rm -rf ${old}; mv ${data} ${old}; fi
  mv ${next} ${data}
  rm -f ${MARKER}
  echo "the data directory now holds PostgreSQL ${to}; PostgreSQL ${from}'s is kept in ${old} until the upgrade is done"
}
if [ "$(version_of ${data})" = ${to} ]; then rm -f ${MARKER}; echo "the data directory already holds PostgreSQL ${to}"; exit 0; fi
if [ -f ${MARKER} ]; then
  [ ${mode} = upgrade ] || { echo "pg_upgrade already ran on this data"; exit 0; }
  swap; exit 0
fi
if [ "$(version_of ${data})" != ${from} ]; then
  echo "the data directory holds PostgreSQL $(version_of ${data}), not ${from}: not touched" >&2; exit ${UNEXPECTED_DATA_EXIT}
fi
# Link mode renames the old pg_control before it links; the old files stay unmodified while the
# new cluster has never started, so putting it back makes the old cluster whole again.
old_cluster_whole() {
  if [ -f ${data}/global/pg_control.old ] && [ ! -f ${data}/global/pg_control ]; then
    mv ${data}/global/pg_control.old ${data}/global/pg_control
    echo "pg_upgrade had begun linking; the old cluster's pg_control is back"
  fi
}
old_cluster_whole
rm -rf ${next}
# The options Patroni bootstraps every member with (common/render/patroni.ts): pg_upgrade wants them alike.
${pgBinDir(to)}/initdb -D ${next} --encoding=UTF8 --locale=C.UTF-8 --data-checksums --auth-local=peer --auth-host=scram-sha-256 >/dev/null
cd /tmp
# The old cluster's postgresql.conf is Patroni's: its TLS files and archive command are not here;
# nor is bookworm's LLVM, which the 15 binaries' JIT would load.
if ! ${pgBinDir(to)}/pg_upgrade ${mode === 'check' ? '--check' : '--link'} --jobs="$(nproc)" \\
    --old-bindir=${pgBinDir(from)} --new-bindir=${pgBinDir(to)} --old-datadir=${data} --new-datadir=${next} \\
    --old-options="-c ssl=off -c archive_mode=off -c jit=off" --new-options="-c ssl=off -c jit=off"; then
  # pg_upgrade names a file with the offending objects: show them, they are the reason.
  for f in $(find ${next}/pg_upgrade_output.d -name '*.txt' 2>/dev/null); do echo "--- $(basename "$f")"; head -n 20 "$f"; done
  old_cluster_whole
  rm -rf ${next}
  exit ${PG_UPGRADE_REFUSED_EXIT}
fi
${mode === 'check' ? `rm -rf ${next}` : `touch ${MARKER}\nswap`}
`;
}
