/**
 * Sizes and rebuild on one real cluster (a leader and two replicas, fast profile, no backups, made
 * with `--memory 512m --cpus 1`), through the CLI and a worker in a child process: Docker shows the
 * limits and every member runs the parameters the formula derives from them; `cluster rebuild`
 * after an image change (a variant of the member image, a label bump, under a tag of its own that
 * the next worker is given) under a read loop through ro and a write loop through rw gives every
 * member a new container on the new image, loses no row, moves the timeline by exactly one and
 * fails no read; a bad resize changes nothing, `cluster resize --memory 1g` re-creates the members
 * with the new limit and the parameters that follow from it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ClusterStatus } from '../../client/cluster-info';
import { readFileIn } from '../../activities/docker';
import { haproxyBackends } from '../../activities/haproxy';
import { POSTGRES_IMAGE_TAG_ENV, memberImage } from '../../activities/member-image';
import { LABEL_SPEC } from '../../common/labels';
import type { Paths } from '../../common/paths';
import { poolSizes, sizedConnectionLimits } from '../../common/pool-sizes';
import { DEFAULT_POSTGRES_VERSION } from '../../common/postgres-version';
import { PGBOUNCER_DIR } from '../../common/render/pgbouncer';
import { containerName } from '../../common/resource-names';
import { sizeParameters, type MemberSize } from '../../common/sizes';
import { waitForExit } from '../helpers/deadline';
import {
  TEST_RUN, childEnv, createClusterDirectly, queryCluster, removeLeftoverTestClusters, runCli, startChildWorker, tempPaths, testClusterName, testRunAlive,
} from '../helpers/integration';
import { startQueryLoop } from '../helpers/query-loop';
import { startTestTemporal } from '../helpers/temporal';
import { createWriterTable, missingIds, startWriter } from '../helpers/writer';

const docker = new Docker();
const S = testClusterName('rebuild');
const MEMBERS = ['pg-0', 'pg-1', 'pg-2'];
const SIZE: MemberSize = { cpus: 1, memoryMiB: 512 };
/** The label that marks the test's image variants, with the test run that built them. */
const VARIANT_LABEL = 'dbaas.rebuild-test';
const VARIANT_TAG = `rebuild-${TEST_RUN}`;
const MIB = 1024 * 1024;
let env: TestWorkflowEnvironment;
let paths: Paths;
let statsPort = 0;
const workers: ChildProcess[] = [];

const cli = (...args: string[]) => runCli(args, childEnv(env, paths));

/** Variants an ended test run left behind (a crash before its `after`). */
async function removeLeftoverVariants(): Promise<void> {
  for (const i of await docker.listImages({ filters: { label: [VARIANT_LABEL] } })) {
    if (!testRunAlive(i.Labels?.[VARIANT_LABEL] ?? '')) await docker.getImage(i.Id).remove({ force: true }).catch(() => undefined);
  }
}

/** The member image with one more label, under the test's own tag: what `dev up` after a package update would give, without moving `:local`. */
async function buildVariant(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-variant-'));
  fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${memberImage(DEFAULT_POSTGRES_VERSION, {})}\nLABEL ${VARIANT_LABEL}="${TEST_RUN}"\n`);
  const tag = memberImage(DEFAULT_POSTGRES_VERSION, { [POSTGRES_IMAGE_TAG_ENV]: VARIANT_TAG });
  const stream = await docker.buildImage({ context: dir, src: ['Dockerfile'] }, { t: tag, rm: true });
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
    const failed = err ?? out.find((e) => e.error)?.error;
    if (failed) reject(failed instanceof Error ? failed : new Error(failed));
    else resolve();
  }));
  return (await docker.getImage(tag).inspect()).Id;
}

before(async () => {
  await removeLeftoverTestClusters(docker);
  await removeLeftoverVariants();
  env = await startTestTemporal();
  paths = tempPaths();
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-1.log')));
  ({ statsPort } = await createClusterDirectly(env, { name: S, replicas: 2, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false, backups: false, size: SIZE }));
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  const survivor = startChildWorker(env, paths, path.join(paths.home, 'worker-cleanup.log'));
  await cli('cluster', 'delete', S, '--purge-backups', '--yes');
  survivor.kill('SIGTERM');
  await docker.getImage(memberImage(DEFAULT_POSTGRES_VERSION, { [POSTGRES_IMAGE_TAG_ENV]: VARIANT_TAG })).remove().catch(() => undefined);
  await env?.teardown();
});

async function status(): Promise<ClusterStatus> {
  const r = await cli('cluster', 'status', S, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ClusterStatus;
}

/** Each member's container as Docker has it. */
const inspectAll = (): Promise<Docker.ContainerInspectInfo[]> => Promise.all(MEMBERS.map((m) => docker.getContainer(containerName(S, m)).inspect()));

/** Every member's container has the size's limits and label, and runs the parameters its formula gives. */
async function assertSized(size: MemberSize): Promise<void> {
  for (const c of await inspectAll()) {
    assert.equal(c.HostConfig.Memory, size.memoryMiB! * MIB, `${c.Name}: memory limit`);
    assert.equal(c.HostConfig.NanoCpus, size.cpus! * 1e9, `${c.Name}: CPU limit`);
    assert.deepEqual((JSON.parse(c.Config.Labels[LABEL_SPEC]!) as { size?: MemberSize }).size, size, `${c.Name}: the size in its spec label`);
  }
  const want = sizeParameters(size);
  for (const m of MEMBERS) {
    for (const name of ['shared_buffers', 'max_connections', 'effective_cache_size'] as const) {
      const [row] = await queryCluster<Record<string, string>>(childEnv(env, paths), S, `show ${name}`, ['--member', m]);
      assert.equal(row?.[name], want[name], `${m}: ${name}`);
    }
  }
  assert.deepEqual((await status()).size, size, 'cluster status shows the size');
  const pool = poolSizes(sizedConnectionLimits(size));
  for (const kind of ['rw', 'ro']) {
    const ini = await readFileIn(docker, containerName(S, `pgbouncer-${kind}`), `${PGBOUNCER_DIR}/pgbouncer.ini`);
    assert.match(ini ?? '', new RegExp(`^default_pool_size = ${pool.defaultPoolSize}\nreserve_pool_size = ${pool.reservePoolSize}$`, 'm'), `pgbouncer-${kind}: pools for max_connections ${want.max_connections}`);
  }
}

/** Every member runs, the leader alone UP on rw, both replicas on ro; returns the leader and its timeline. */
async function assertServing(): Promise<{ leader: string; timeline: number }> {
  const s = await status();
  assert.ok(s.members.every((m) => m.state === 'running'), JSON.stringify(s.members));
  const b = await haproxyBackends(statsPort);
  assert.deepEqual(b.rwUp, [s.leader], 'rw UP on the leader only');
  assert.deepEqual([...b.roUp].sort(), MEMBERS.filter((m) => m !== s.leader), 'ro UP on both replicas');
  return { leader: s.leader as string, timeline: s.members.find((m) => m.name === s.leader)?.timeline as number };
}

test('--memory 512m --cpus 1: Docker shows the limits, every member runs the parameters the formula derives, the poolers\' pools fit its max_connections', async () => {
  await assertSized(SIZE);
});

test('cluster rebuild after an image change, under reads through ro and writes through rw: every container new on the new image, every row there, one timeline switch, no failed read', async () => {
  const image = await buildVariant();
  // The next worker makes members from the variant, as one started after `dev up` rebuilt the image would.
  const first = workers[workers.length - 1]!;
  first.kill('SIGTERM');
  await waitForExit(first, 60_000, 'the first worker did not stop');
  workers.push(startChildWorker(env, paths, path.join(paths.home, 'worker-2.log'), { [POSTGRES_IMAGE_TAG_ENV]: VARIANT_TAG }));

  const before = await assertServing();
  const ids = (await inspectAll()).map((c) => c.Id);
  const rw = (await cli('connect', S)).stdout.trim();
  const ro = (await cli('connect', S, '--ro')).stdout.trim();
  await createWriterTable(rw, 'rebuild_probe');
  const reads = startQueryLoop(ro, { reconnect: true, intervalMs: 20 });
  const writer = startWriter({ connectionString: rw, table: 'rebuild_probe', pauseMs: 20 });
  await new Promise((r) => setTimeout(r, 1000));
  const startedAt = Date.now();
  const r = await cli('cluster', 'rebuild', S);
  const tookS = (Date.now() - startedAt) / 1000;
  await new Promise((res) => setTimeout(res, 1000));
  const [readStats, writeStats] = [await reads.stop(), await writer.stop()];
  assert.equal(r.code, 0, r.stderr + r.stdout);
  console.log(`cluster rebuild took ${tookS.toFixed(1)} s; ${readStats.ok} reads, ${writeStats.acked.length} writes; stdout:\n${r.stdout}`);

  assert.equal(readStats.failed, 0, `failed reads through ro: ${readStats.errors.join('; ')}`);
  assert.ok(readStats.ok > 100, `the read loop kept reading (${readStats.ok})`);
  const now = await inspectAll();
  for (const [k, c] of now.entries()) {
    assert.notEqual(c.Id, ids[k], `${MEMBERS[k]}: a new container`);
    assert.equal(c.Image, image, `${MEMBERS[k]}: on the new image`);
  }
  const after = await assertServing();
  assert.notEqual(after.leader, before.leader, 'the leader moved');
  assert.equal(after.timeline, before.timeline + 1, 'exactly one timeline switch');
  assert.match(r.stdout, new RegExp(`write downtime: one switchover \\(${before.leader} → ${after.leader}\\)`));
  assert.deepEqual(await missingIds(rw, 'rebuild_probe', writeStats.acked), [], 'every acknowledged row is there');
  await assertSized(SIZE);
});

test('a bad resize changes nothing; cluster resize --memory 1g re-creates the members with the new limit and its parameters, the CPUs kept, the pools follow', async () => {
  const ids = (await inspectAll()).map((c) => c.Id);
  const bad = await cli('cluster', 'resize', S, '--memory', '100m');
  assert.equal(bad.code, 2, bad.stderr + bad.stdout);
  assert.match(bad.stderr, /^dbaas: --memory must be at least 256m/);
  assert.deepEqual((await inspectAll()).map((c) => c.Id), ids, 'no container changed');

  const r = await cli('cluster', 'resize', S, '--memory', '1g');
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^parameters written first: shared_buffers=256MB, /m);
  await assertServing();
  await assertSized({ cpus: 1, memoryMiB: 1024 });
});
