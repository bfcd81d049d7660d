/**
 * A real Prometheus (Debian's binary, on a free port) reads the target files as dbaas writes them:
 * a cluster's file appearing, and a member added to it, are scraped without a restart, with the
 * labels the rules select on; a member that does not run is a target that is down. The "member"
 * here is a small HTTP server answering /metrics like Patroni. Skips without the binary, except
 * in CI (`dbaas dev up --no-server` installs it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { scrapeTargetGroups, type ScrapeEndpoint } from '../../activities/scrape-target-groups';
import { eventually } from '../helpers/deadline';
import { prometheusSkipReason, startTestPrometheus, type ActiveTarget, type TestPrometheus } from '../helpers/prometheus';

const inCi = ['true', '1'].includes(process.env.CI ?? '');
const skip = inCi ? false : prometheusSkipReason() ?? false;

let prom: TestPrometheus;
let member: http.Server;
let memberAddress: string;
const targetsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbaas-targets-'));

before(async () => {
  if (skip) return;
  member = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(req.url === '/metrics' ? 'patroni_primary{scope="orders"} 1\npatroni_postgres_running{scope="orders"} 1\n' : '');
  });
  await new Promise<void>((resolve) => member.listen(0, '127.0.0.1', resolve));
  memberAddress = `127.0.0.1:${(member.address() as AddressInfo).port}`;
  prom = await startTestPrometheus({ targetsDir, intervalS: 1 });
});

after(async () => {
  await prom?.stop();
  member?.close();
  fs.rmSync(targetsDir, { recursive: true, force: true });
});

function publish(endpoints: ScrapeEndpoint[]): void {
  const file = path.join(targetsDir, 'orders.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(scrapeTargetGroups('orders', endpoints)));
  fs.renameSync(`${file}.tmp`, file);
}

const patroniTargets = async (): Promise<ActiveTarget[]> => (await prom.activeTargets()).filter((t) => t.labels.job === 'patroni');

test('a new target file and a member added to it are scraped without a restart; a member that does not run is down', { skip }, async () => {
  publish([{ component: 'patroni', member: 'pg-0', host: 'local', address: memberAddress }]);
  const [pg0] = await eventually('pg-0 scraped', async () => {
    const ts = await patroniTargets();
    return ts.length === 1 && ts[0].health === 'up' ? ts : undefined;
  }, 30_000);
  assert.deepEqual(
    { ...pg0.labels },
    { cluster: 'orders', member: 'pg-0', host: 'local', component: 'patroni', instance: 'orders/pg-0@local', job: 'patroni' },
  );
  publish([
    { component: 'patroni', member: 'pg-0', host: 'local', address: memberAddress },
    { component: 'patroni', member: 'pg-1', host: 'local', address: undefined },
  ]);
  const pg1 = await eventually('pg-1 scraped, down', async () => (await patroniTargets()).find((t) => t.labels.member === 'pg-1' && t.health === 'down'), 30_000);
  assert.match(pg1.lastError, /connection refused/);
  const up = await prom.api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`query?query=${encodeURIComponent('up{component="patroni"}')}`);
  assert.deepEqual(up.result.map((r) => `${r.metric.member}=${r.value[1]}`).sort(), ['pg-0=1', 'pg-1=0']);
  // Only the patroni job keeps patroni targets: the other jobs read the same file and drop them.
  assert.deepEqual((await prom.activeTargets()).map((t) => t.labels.job).sort(), ['patroni', 'patroni']);
});
