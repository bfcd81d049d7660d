/**
 * PostgreSQL parameters on one real cluster (a leader and two replicas, fast profile, no backups),
 * through the CLI and the test's own worker: bad input exits 2 with one line and changes
 * nothing; work_mem applies on every member at once; shared_buffers with `--restart rolling`
 * under a read loop through ro and a write loop through rw reaches every member with no failed
 * read and writes down no longer than one switchover; `cluster config --json` shows what is set;
 * wal_level=logical (what a blue-green upgrade needs) is accepted; values the server spells its own
 * way (datestyle=iso) apply without a timeout; a postmaster value PostgreSQL cannot start with
 * (huge_pages=on, no huge pages here) with `--restart rolling` is put back, and every member runs
 * the old value again; unset puts the default back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import type { ClusterStatus } from '../../client/cluster-info';
import type { ConfigView } from '../../client/parameter-view';
import { psqlOn } from '../../activities/upgrade/psql';
import { containerName } from '../../common/resource-names';
import { childEnv, runCli, startIntegration, testClusterName, type IntegrationEnv } from '../helpers/integration';
import { startQueryLoop } from '../helpers/query-loop';
import { createWriterTable, missingIds, startWriter, writeOutage } from '../helpers/writer';

const docker = new Docker();
const S = testClusterName('params');
const MEMBERS = ['pg-0', 'pg-1', 'pg-2'];
let it: IntegrationEnv;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cli = (...args: string[]) => runCli(args, childEnv(it.env, it.paths));

before(async () => {
  it = await startIntegration(docker);
  await it.createCluster({ name: S, replicas: 2, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false });
});

after(async () => {
  await it?.stop([S]);
});

/** SHOW on each member's own socket (the value its server runs with, whatever HAProxy does). */
const showOnEvery = (name: string): Promise<string[]> => Promise.all(MEMBERS.map((m) => psqlOn(docker, containerName(S, m), 'postgres', `show ${name}`)));

async function configView(): Promise<ConfigView> {
  const r = await cli('cluster', 'config', S, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ConfigView;
}

test('bad input: an unknown parameter, a value of the wrong type and managed parameters (logging_collector among them) exit 2 with one line and change nothing', async () => {
  const before = { view: await configView(), workMem: await showOnEvery('work_mem'), port: await showOnEvery('port') };
  const cases: [string, RegExp][] = [
    ['nosuch=1', /^dbaas: unknown parameter "nosuch"\n$/],
    ['work_mem=banana', /^dbaas: work_mem takes a number \(with a unit: B, kB, MB, GB or TB\), got "banana"\n$/],
    ['port=1', /^dbaas: port cannot be set: Patroni sets it from patroni.yml[^\n]*\n$/],
    ['max_slot_wal_keep_size=1GB', /^dbaas: max_slot_wal_keep_size cannot be set to "1GB": [^\n]*unlimited \(-1\)\n$/],
    ['logging_collector=on', /^dbaas: logging_collector cannot be set to "on": `dbaas logs` reads PostgreSQL's lines from the member container's stderr[^\n]*\n$/],
  ];
  for (const [pair, re] of cases) {
    const r = await cli('cluster', 'config', 'set', S, pair);
    assert.equal(r.code, 2, `${pair}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, '', `${pair}: no workflow started`);
  }
  assert.deepEqual(await showOnEvery('work_mem'), before.workMem);
  assert.deepEqual(await showOnEvery('port'), before.port);
  assert.deepEqual(await showOnEvery('logging_collector'), MEMBERS.map(() => 'off'));
  assert.deepEqual((await configView()).parameters.map((p) => [p.name, p.dcsValue]), before.view.parameters.map((p) => [p.name, p.dcsValue]), 'the DCS unchanged');
});

test('config set work_mem=64MB: in effect on every member at once, and `cluster config --json` shows it', async () => {
  const r = await cli('cluster', 'config', 'set', S, 'work_mem=64MB');
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^work_mem=64MB: applied$/m);
  assert.deepEqual(await showOnEvery('work_mem'), MEMBERS.map(() => '64MB'));
  const p = (await configView()).parameters.find((x) => x.name === 'work_mem');
  assert.deepEqual([p?.value, p?.origin, p?.dcsValue, p?.pendingRestartOn], ['64MB', 'DCS', '64MB', []]);
});

test('config set shared_buffers=256MB --restart rolling under reads through ro and writes through rw: 256MB on every member, no failed read, writes down one switchover at most', async () => {
  const rw = (await cli('connect', S)).stdout.trim();
  const ro = (await cli('connect', S, '--ro')).stdout.trim();
  await createWriterTable(rw, 'params_probe');
  const reads = startQueryLoop(ro, { reconnect: true, intervalMs: 20 });
  const writer = startWriter({ connectionString: rw, table: 'params_probe', pauseMs: 20 });
  await sleep(1000);
  const startedAt = Date.now();
  const r = await cli('cluster', 'config', 'set', S, 'shared_buffers=256MB', '--restart', 'rolling');
  const tookS = (Date.now() - startedAt) / 1000;
  await sleep(1000);
  const [readStats, writeStats] = [await reads.stop(), await writer.stop()];
  assert.equal(r.code, 0, r.stderr + r.stdout);
  console.log(`config set shared_buffers --restart rolling took ${tookS.toFixed(1)} s; ${readStats.ok} reads, ${writeStats.acked.length} writes; stdout:\n${r.stdout}`);

  assert.match(r.stdout, /^shared_buffers=256MB: restarted \(pg-\d, pg-\d, pg-\d\)$/m);
  assert.deepEqual(await showOnEvery('shared_buffers'), MEMBERS.map(() => '256MB'));
  assert.equal(readStats.failed, 0, `failed reads through ro: ${readStats.errors.join('; ')}`);
  assert.ok(readStats.ok > 100, `the read loop kept reading (${readStats.ok})`);
  const outage = writeOutage(writeStats, startedAt);
  console.log(`rw write gap: ${outage?.gapMs ?? 0} ms; ${writeStats.failed} failed attempts`);
  assert.ok(!outage || outage.gapMs < 10_000, `writes were down no longer than a switchover (${outage?.gapMs} ms)`);
  assert.deepEqual(await missingIds(rw, 'params_probe', writeStats.acked), [], 'no acknowledged write lost');
  assert.deepEqual((await configView()).parameters.filter((p) => p.pendingRestartOn.length > 0).map((p) => p.name), [], 'nothing waits for a restart');
});

test('values the server spells its own way (datestyle=iso shows "ISO, MDY") apply at once, without waiting out a timeout', async () => {
  const r = await cli('cluster', 'config', 'set', S, 'datestyle=iso', 'default_text_search_config=english');
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^datestyle=iso: applied$/m);
  assert.match(r.stdout, /^default_text_search_config=english: applied$/m);
  assert.deepEqual(await showOnEvery('datestyle'), MEMBERS.map(() => 'ISO, MDY'));
  // A session spells it pg_catalog.english; read from the configuration file (no catalog access) it stays as written.
  for (const shown of await showOnEvery('default_text_search_config')) assert.match(shown, /^(pg_catalog\.)?english$/);
  const back = await cli('cluster', 'config', 'unset', S, 'datestyle', 'default_text_search_config');
  assert.equal(back.code, 0, back.stderr + back.stdout);
});

test('config set huge_pages=on --restart rolling where PostgreSQL cannot start with it: exit 1 saying it was put back and why; the old value on every member; the cluster healthy', async (t) => {
  if (!/^HugePages_Total:\s+0$/m.test(readFileSync('/proc/meminfo', 'utf8'))) return t.skip('this machine reserves huge pages: huge_pages=on would start');
  const before = await showOnEvery('huge_pages');
  const startedAt = Date.now();
  const r = await cli('cluster', 'config', 'set', S, 'huge_pages=on', '--restart', 'rolling');
  console.log(`huge_pages=on --restart rolling put back in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; stderr: ${r.stderr}`);
  assert.equal(r.code, 1, r.stderr + r.stdout);
  assert.match(r.stderr, /huge_pages=on: the rolling restart failed \(pg-\d's PostgreSQL did not start after its restart: FATAL: could not map anonymous shared memory[^\n]*\); the previous values are back in the DCS and every member runs with them( \([^)]*restarted again\))?\n$/);
  assert.deepEqual(await showOnEvery('huge_pages'), before);
  const view = await configView();
  assert.equal(view.parameters.find((p) => p.name === 'huge_pages')?.dcsValue ?? null, null, 'not in the DCS');
  assert.deepEqual(view.parameters.filter((p) => p.pendingRestartOn.length > 0).map((p) => p.name), [], 'nothing waits for a restart');
  const status = JSON.parse((await cli('cluster', 'status', S, '--json')).stdout) as ClusterStatus;
  assert.ok(status.leader, 'a leader');
  assert.deepEqual(status.members.map((m) => m.state), MEMBERS.map(() => 'running'), JSON.stringify(status.members));
});

test('config set wal_level=logical --restart rolling is accepted (already logical: nothing to restart); other levels are refused', async () => {
  const r = await cli('cluster', 'config', 'set', S, 'wal_level=logical', '--restart', 'rolling');
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^wal_level=logical: applied$/m);
  const replica = await cli('cluster', 'config', 'set', S, 'wal_level=replica');
  assert.equal(replica.code, 2, replica.stderr);
  assert.match(replica.stderr, /^dbaas: wal_level cannot be set to "replica"/);
});

test('config unset work_mem: the default again on every member', async () => {
  const r = await cli('cluster', 'config', 'unset', S, 'work_mem');
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^unset work_mem: applied$/m);
  assert.deepEqual(await showOnEvery('work_mem'), MEMBERS.map(() => '4MB'));
  assert.equal((await configView()).parameters.find((p) => p.name === 'work_mem'), undefined);
});
