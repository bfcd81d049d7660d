/**
 * PostgreSQL parameters on one real cluster (a leader and two replicas, fast profile, no backups),
 * through the CLI and the test's own worker: bad input exits 2 with one line and changes
 * nothing; work_mem applies on every member at once; shared_buffers with `--restart rolling`
 * under a read loop through ro and a write loop through rw reaches every member with no failed
 * read and writes down no longer than one switchover; `cluster config --json` shows what is set;
 * wal_level=logical (what a blue-green upgrade needs) is accepted; unset puts the default back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
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

test('bad input: an unknown parameter, a value of the wrong type and a managed parameter exit 2 with one line and change nothing', async () => {
  const before = { view: await configView(), workMem: await showOnEvery('work_mem'), port: await showOnEvery('port') };
  const cases: [string, RegExp][] = [
    ['nosuch=1', /^dbaas: unknown parameter "nosuch"\n$/],
    ['work_mem=banana', /^dbaas: work_mem takes a number \(with a unit: B, kB, MB, GB or TB\), got "banana"\n$/],
    ['port=1', /^dbaas: port cannot be set: Patroni sets it from patroni.yml[^\n]*\n$/],
  ];
  for (const [pair, re] of cases) {
    const r = await cli('cluster', 'config', 'set', S, pair);
    assert.equal(r.code, 2, `${pair}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, '', `${pair}: no workflow started`);
  }
  assert.deepEqual(await showOnEvery('work_mem'), before.workMem);
  assert.deepEqual(await showOnEvery('port'), before.port);
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
