/**
 * Every registered workflow type, started directly through the Temporal client (as anyone can on
 * a dev server without authentication) with the names `../../x` and `a/b`, fails with a final
 * SpecError before any activity runs, and no file outside DBAAS_HOME changes. The worker has the
 * real activities, on a state directory of the test's own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { resolvePaths } from '../../common/paths';
import * as workflows from '../../workflows';
import { rootCause } from '../helpers/run-with-fakes';
import { createTestWorker, startTestTemporal } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTestTemporal();
});
after(async () => {
  await env?.teardown();
});

/** One input per workflow type with `bad` in each name it takes (cluster, source, member, label). */
function badInputs(bad: string): [string, unknown][] {
  const spec = { replicas: 1, sync: false, profile: 'fast', etcdMembers: 1 };
  return [
    ['createCluster', { name: bad, ...spec, keepOnFailure: false }],
    ['createCluster', { name: 'ok', ...spec, keepOnFailure: false, restoreFrom: { source: bad, target: { kind: 'latest' } } }],
    ['deleteCluster', { name: bad, keepData: false }],
    ['addReplica', { cluster: bad, member: 'pg-3', readOnly: false, cloneMethod: 'basebackup' }],
    ['addReplica', { cluster: 'ok', member: bad, readOnly: false, cloneMethod: 'basebackup' }],
    ['addReplicas', { cluster: bad, count: 1, readOnly: false }],
    ['removeReplica', { cluster: bad, member: 'pg-1', drainTimeoutMs: 1000 }],
    ['removeReplica', { cluster: 'ok', member: bad, drainTimeoutMs: 1000 }],
    ['scaleReadOnly', { cluster: bad, target: 1, drainTimeoutMs: 1000 }],
    ['backup', { cluster: bad, type: 'full', fromStandby: false }],
    ['restorePitr', { source: bad, into: 'ok', target: { kind: 'latest' }, ...spec }],
    ['restorePitr', { source: 'ok', into: bad, target: { kind: 'latest' }, ...spec }],
    ['verifyBackup', { cluster: bad }],
    ['verifyBackup', { cluster: 'ok', label: bad }],
    ['enableBackups', { cluster: bad }],
    ['clusterLease', { cluster: bad }],
    ['switchover', { cluster: bad }],
    ['switchover', { cluster: 'ok', to: bad }],
    ['restartCluster', { cluster: bad }],
    ['restartCluster', { cluster: 'ok', member: bad }],
    ['clusterWatch', { cluster: bad, profile: 'fast' }],
    ['setProfile', { cluster: bad, profile: 'fast' }],
    ['setSync', { cluster: bad, mode: 'on' }],
    ['addPoolers', bad],
    ['addMetrics', bad],
    ['rotateCertificates', bad],
    ['upgradeInPlace', { cluster: bad, to: 17 }],
    ['upgradeBlueGreen', { cluster: bad, to: 17 }],
    ['addAppRole', bad],
    ['addReplica', { cluster: 'ok', member: 'pg-3', readOnly: false, cloneMethod: 'basebackup', host: bad }],
    ['replaceLostMembers', { cluster: bad, host: 'h1', members: ['pg-1'], since: 0 }],
    ['replaceLostMembers', { cluster: 'ok', host: bad, members: ['pg-1'], since: 0 }],
    ['drainHost', { host: bad, drainTimeoutMs: 1000 }],
    ['drainClusterFromHost', { cluster: bad, host: 'h1', drainTimeoutMs: 1000 }],
    ['drainClusterFromHost', { cluster: 'ok', host: bad, drainTimeoutMs: 1000 }],
    ['setParameters', { cluster: bad, changes: [{ name: 'work_mem', value: '64MB' }], restart: 'none' }],
    ['createDatabase', { cluster: bad, database: 'sales' }],
    ['createDatabase', { cluster: 'ok', database: bad }],
    ['createDatabase', { cluster: 'ok', database: 'sales', owner: bad }],
    ['dropDatabase', { cluster: bad, database: 'sales' }],
    ['dropDatabase', { cluster: 'ok', database: bad }],
    ['createUser', { cluster: bad, role: 'alice' }],
    ['createUser', { cluster: 'ok', role: bad }],
    ['createUser', { cluster: 'ok', role: 'alice', database: bad }],
    ['rotateUser', { cluster: bad, role: 'alice' }],
    ['rotateUser', { cluster: 'ok', role: bad }],
    ['dropUser', { cluster: bad, role: 'alice' }],
    ['dropUser', { cluster: 'ok', role: bad }],
    ['rebuildCluster', { cluster: bad }],
  ];
}

/** Every file below `dir` with its size and mtime. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.statSync(p);
        out.set(p, `${st.size}:${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out;
}

test('every workflow type refuses `../../x` and `a/b` before any activity runs; nothing outside DBAAS_HOME changes', async () => {
  // DBAAS_HOME two levels down, with the files a `../../x` would reach beside it.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-names-'));
  const home = path.join(root, 'a', 'home');
  fs.mkdirSync(path.join(home, 'secrets'), { recursive: true });
  for (const f of ['x', 'x.json', path.join('a', 'x'), path.join('a', 'x.json'), path.join('a', 'b.json')]) fs.writeFileSync(path.join(root, f), 'keep me');
  fs.mkdirSync(path.join(home, 'a'), { recursive: true });
  fs.writeFileSync(path.join(home, 'a', 'b.json'), 'keep me too');
  const before = snapshot(root);

  // Before the worker exists: a failed assertion with a worker built but not run would hang the file.
  const types = Object.entries(workflows).filter(([, v]) => typeof v === 'function').map(([k]) => k);
  const covered = new Set(badInputs('x').map(([t]) => t));
  assert.deepEqual(types.filter((t) => !covered.has(t)), [], 'every registered workflow type is tried');

  const calls: string[] = [];
  const real = createActivities({ docker: new Docker(), paths: resolvePaths({ ...process.env, DBAAS_HOME: home }) }) as unknown as Record<string, (a: unknown) => Promise<unknown>>;
  const recorded = Object.fromEntries(Object.entries(real).map(([name, fn]) => [name, async (a: unknown) => {
    calls.push(name);
    return fn(a);
  }]));
  const taskQueue = `names-${process.pid}`;
  const worker = await createTestWorker(env, taskQueue, recorded);


  await worker.runUntil(async () => {
    let n = 0;
    for (const bad of ['../../x', 'a/b']) {
      for (const [type, arg] of badInputs(bad)) {
        const h = await env.client.workflow.start(type, { taskQueue, workflowId: `names-${++n}`, args: [arg], workflowExecutionTimeout: '1 minute' });
        await assert.rejects(h.result(), (err) => {
          const c = rootCause(err);
          assert.equal(c.type, 'SpecError', `${type} ${JSON.stringify(arg)}: ${c.message}`);
          assert.ok(c.message.includes(JSON.stringify(bad).slice(1, -1)) || /must be|must look like/.test(c.message), c.message);
          return true;
        });
      }
    }
  });
  assert.deepEqual(calls, [], 'no activity ran');
  assert.deepEqual(snapshot(root), before, 'no file outside DBAAS_HOME (nor inside) changed');
  fs.rmSync(root, { recursive: true, force: true });
});
