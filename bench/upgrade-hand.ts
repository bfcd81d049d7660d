/**
 * The by-hand side of bench/upgrade: what a DBA upgrading a plain PostgreSQL 15 with
 * `pg_upgrade --link` does, in one container of `dbaas/postgres-upgrade:local` (the image the
 * in-place upgrade's helper runs: 17's binaries with 15's beside them). The data directories are
 * on a named volume, as a member's are. Set-up (not timed): initdb 15 with the options Patroni
 * bootstraps members with, start, the same pgbench data as the dbaas sides, the writer's table.
 * Timed, one script in the container: stop 15, initdb 17, `pg_upgrade --link`, start 17, until a
 * write through the socket is acknowledged. The writer's connection is TCP on a published port
 * (trust: the port is bound to 127.0.0.1 and the container lives for one run).
 */
import { IMAGES } from '../common/images';
import { DEFAULT_DATABASE } from '../common/service-users';
import { pgBinDir } from '../common/postgres-version';
import { PGBENCH_NO_KEY_TABLE } from './upgrade-dbaas';
import { TICKS_TABLE } from './upgrade-writer';
import { docker, exec, leftovers, must } from './proc';

const ROOT = '/var/lib/dbaas';
const OLD = `${ROOT}/pg15`;
const NEW = `${ROOT}/pg17`;
const B15 = pgBinDir(15);
const B17 = pgBinDir(17);
const SOCKET = '/tmp';
const LABEL = 'dbaas-bench.plain';
/** The options the pg_upgrade helper gives initdb (activities/upgrade/pg-upgrade-script.ts), host auth trust for the writer. */
const INITDB_OPTIONS = '--encoding=UTF8 --locale=C.UTF-8 --data-checksums --auth-local=peer --auth-host=trust';
/** The writer connects from the Docker host, through the bridge: not 127.0.0.1 in the container. */
const HBA_LINE = 'host all all 0.0.0.0/0 trust';
/** 15's binaries in this image lack bookworm's LLVM (the helper turns JIT off too). */
const SERVER_OPTIONS = `-c listen_addresses=* -c unix_socket_directories=${SOCKET} -c jit=off`;

export interface HandServer {
  container: string;
  volume: string;
  /** postgresql:// for the writer (no password: trust). */
  uri: string;
}

export interface HandDowntime {
  stopS: number;
  initdbS: number;
  pgUpgradeS: number;
  startS: number;
  firstWriteS: number;
  /** From the stop of 15 to the first write acknowledged by 17, inside the container. */
  downtimeS: number;
}

const sh = (ctr: string, script: string, what: string): ReturnType<typeof must> =>
  must('docker', ['exec', '-u', 'postgres', '-w', SOCKET, ctr, 'sh', '-ec', script], what);

/** The container, its volume and PostgreSQL 15 running on an empty data directory (leftovers until `removeHand`). */
export async function startHand(name: string): Promise<HandServer> {
  leftovers.add(`container ${name}`);
  leftovers.add(`volume ${name}`);
  await docker(['volume', 'create', '--label', LABEL, name]);
  await docker(['run', '-d', '--name', name, '--label', LABEL, '-p', '127.0.0.1::5432', '-v', `${name}:${ROOT}`, IMAGES.postgresUpgrade, 'sleep', 'infinity']);
  await must('docker', ['exec', '-u', 'root', name, 'chown', 'postgres:postgres', ROOT], 'chown the data volume');
  await sh(name, [
    `${B15}/initdb -D ${OLD} ${INITDB_OPTIONS} >/dev/null`,
    `echo '${HBA_LINE}' >> ${OLD}/pg_hba.conf`,
    `${B15}/pg_ctl -D ${OLD} -w -l ${ROOT}/pg15.log -o '${SERVER_OPTIONS}' start >/dev/null`,
  ].join('\n'), 'initdb 15 and start');
  const port = (await docker(['port', name, '5432/tcp'])).split('\n')[0]!.split(':').pop();
  return { container: name, volume: name, uri: `postgresql://postgres@127.0.0.1:${port}/${DEFAULT_DATABASE}?sslmode=disable` };
}

/** pgbench -i -s `scale` with 15's pgbench, the table without a key dropped (as on the dbaas sides), a checkpoint; the database's size. */
export async function loadHand(h: HandServer, scale: number): Promise<{ pgbenchS: number; bytes: number }> {
  const r = await sh(h.container, `${B15}/pgbench -i -s ${scale} -q -h ${SOCKET} ${DEFAULT_DATABASE} >/dev/null 2>&1`, 'pgbench -i (by hand)');
  const bytes = await sh(h.container, [
    `${B15}/psql -h ${SOCKET} -d ${DEFAULT_DATABASE} -XAtqc 'drop table ${PGBENCH_NO_KEY_TABLE}'`,
    `${B15}/psql -h ${SOCKET} -d ${DEFAULT_DATABASE} -XAtqc 'checkpoint'`,
    `${B15}/psql -h ${SOCKET} -d ${DEFAULT_DATABASE} -XAtc "select pg_database_size('${DEFAULT_DATABASE}')"`,
  ].join('\n'), 'size (by hand)');
  return { pgbenchS: r.ms / 1000, bytes: Number(bytes.stdout.trim()) };
}

/** The upgrade by hand, timed inside the container (see the file's comment). */
export async function upgradeByHand(h: HandServer): Promise<{ downtime: HandDowntime; wallS: number }> {
  const script = [
    'now() { date +%s.%N; }',
    't0=$(now)',
    `${B15}/pg_ctl -D ${OLD} -m fast -w stop >/dev/null`,
    't1=$(now)',
    `${B17}/initdb -D ${NEW} ${INITDB_OPTIONS} >/dev/null`,
    `echo '${HBA_LINE}' >> ${NEW}/pg_hba.conf`,
    't2=$(now)',
    `${B17}/pg_upgrade --link --jobs="$(nproc)" --old-bindir=${B15} --new-bindir=${B17} --old-datadir=${OLD} --new-datadir=${NEW} ` +
      `--old-options='-c jit=off' --new-options='-c jit=off' >/tmp/pg_upgrade.log 2>&1 || { tail -n 20 /tmp/pg_upgrade.log; exit 3; }`,
    't3=$(now)',
    `${B17}/pg_ctl -D ${NEW} -w -l ${ROOT}/pg17.log -o '${SERVER_OPTIONS}' start >/dev/null`,
    't4=$(now)',
    `until ${B17}/psql -h ${SOCKET} -d ${DEFAULT_DATABASE} -XAtqc 'insert into ${TICKS_TABLE} default values' >/dev/null 2>&1; do sleep 0.05; done`,
    't5=$(now)',
    'echo "HAND $t0 $t1 $t2 $t3 $t4 $t5"',
  ].join('\n');
  const r = await sh(h.container, script, 'pg_upgrade by hand');
  const m = /^HAND ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)$/m.exec(r.stdout);
  if (!m) throw new Error(`the script by hand printed no timeline: ${r.out.trim().split('\n').slice(-3).join(' / ')}`);
  const t = m.slice(1).map(Number);
  const d = (a: number, b: number): number => Math.round((t[b]! - t[a]!) * 1000) / 1000;
  return {
    downtime: { stopS: d(0, 1), initdbS: d(1, 2), pgUpgradeS: d(2, 3), startS: d(3, 4), firstWriteS: d(4, 5), downtimeS: d(0, 5) },
    wallS: r.ms / 1000,
  };
}

export async function removeHand(h: { container: string; volume: string }): Promise<void> {
  await exec('docker', ['rm', '-f', h.container]);
  leftovers.delete(`container ${h.container}`);
  if ((await exec('docker', ['volume', 'rm', '-f', h.volume])).code === 0) leftovers.delete(`volume ${h.volume}`);
}
