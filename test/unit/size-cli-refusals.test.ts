/** Bad sizes on `cluster create` and `cluster resize`: one line, exit 2, before Docker or Temporal is contacted (both point where nothing listens). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/integration';

const env = {
  ...process.env,
  DBAAS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-size-refusals-')),
  TEMPORAL_ADDRESS: '127.0.0.1:1',
  DOCKER_HOST: 'unix:///nonexistent/docker.sock',
};

test('--memory below 256m or malformed, --cpus out of range, a resize without either: one line, exit 2', async () => {
  for (const [args, said] of [
    [['cluster', 'create', 'orders', '--memory', '128m'], /^dbaas: --memory must be at least 256m .*, got 128m$/],
    [['cluster', 'create', 'orders', '--memory', 'lots'], /^dbaas: --memory takes a size like 512m, 2g or 1536MiB, got "lots"$/],
    [['cluster', 'create', 'orders', '--cpus', '0.001'], /^dbaas: --cpus takes a number of CPUs with at most two decimals/],
    [['cluster', 'create', 'orders', '--cpus', '0'], /^dbaas: --cpus must be from 0.1 to 256/],
    [['cluster', 'resize', 'orders'], /^dbaas: cluster resize needs --cpus, --memory or both$/],
    [['cluster', 'resize', 'orders', '--memory', '2x'], /^dbaas: --memory takes a size/],
    [['cluster', 'rebuild', 'Bad_Name'], /cluster name/],
  ] as const) {
    const r = await runCli([...args], env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), said);
  }
});
