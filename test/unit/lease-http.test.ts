/**
 * client/lease-http.ts against a small HTTP server that answers as Temporal's HTTP API does
 * (shapes read off a dev server: `temporal server start-dev --http-port`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerJson as json, withFakeHttpApi } from '../helpers/fake-temporal-http';
import type { LeaseHolder, LeaseRequest } from '../../common/lease';
import { HttpApiUnreachable, leaseStateFromQueryResult, readLeaseOverHttp } from '../../client/lease-http';

const HOLDER: LeaseHolder = { requestId: 'r1', workflowId: 'backup:orders:x', runId: 'run', operation: 'backup', since: Date.UTC(2026, 11, 4, 12, 0, 0) };
const WAITER: LeaseRequest = { requestId: 'r2', workflowId: 'switchover:orders:y', runId: 'run2', operation: 'switchover', wait: true, at: Date.UTC(2026, 11, 4, 12, 0, 5) };



test('a running lease workflow: the holder and the queue, as the gateway writes a JSON payload', async () => {
  const seen: string[] = [];
  await withFakeHttpApi((req, _body, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'GET') return json(res, 200, { workflowExecutionInfo: { status: 'WORKFLOW_EXECUTION_STATUS_RUNNING' } });
    json(res, 200, { queryResult: [{ holders: [HOLDER], queue: [WAITER] }] });
  }, async (address) => {
    const view = await readLeaseOverHttp(address, 'default', 'cluster-lease:orders');
    assert.deepEqual(view, {
      operation: { operation: 'backup', workflowId: 'backup:orders:x', since: '2026-12-04T12:00:00.000Z' },
      queued: [{ operation: 'switchover', workflowId: 'switchover:orders:y', since: '2026-12-04T12:00:05.000Z' }],
    });
  });
  assert.deepEqual(seen, [
    'GET /api/v1/namespaces/default/workflows/cluster-lease%3Aorders',
    'POST /api/v1/namespaces/default/workflows/cluster-lease%3Aorders/query/leaseState',
  ]);
});

test('no lease workflow, or one that ended: no operation (and no query, which would need a worker)', async () => {
  for (const answer of [[404, { code: 5, message: 'workflow not found' }], [200, { workflowExecutionInfo: { status: 'WORKFLOW_EXECUTION_STATUS_COMPLETED' } }]] as const) {
    let queried = false;
    await withFakeHttpApi((req, _body, res) => {
      if (req.method === 'POST') queried = true;
      json(res, answer[0], answer[1]);
    }, async (address) => {
      assert.deepEqual(await readLeaseOverHttp(address, 'default', 'cluster-lease:orders'), { operation: null, queued: [] });
    });
    assert.equal(queried, false);
  }
});

test('a query that fails (no worker answers): unknown, not "none"', async () => {
  await withFakeHttpApi((req, _body, res) => {
    if (req.method === 'GET') return json(res, 200, { workflowExecutionInfo: { status: 'WORKFLOW_EXECUTION_STATUS_RUNNING' } });
    json(res, 503, { code: 4, message: 'context deadline exceeded' });
  }, async (address) => {
    assert.equal(await readLeaseOverHttp(address, 'default', 'cluster-lease:orders'), null);
  });
});

test('nothing listening: HttpApiUnreachable, so status reads through gRPC instead', async () => {
  let address = '';
  await withFakeHttpApi((_req, _body, res) => res.end(), async (a) => {
    address = a;
  });
  await assert.rejects(readLeaseOverHttp(address, 'default', 'cluster-lease:orders'), HttpApiUnreachable);
});

test('query results: empty lists come back as null; the long form carries base64 JSON', () => {
  assert.deepEqual(leaseStateFromQueryResult([{ holders: null, queue: null }]), { holders: [], queue: [] });
  const data = Buffer.from(JSON.stringify({ holders: [HOLDER], queue: [] })).toString('base64');
  assert.deepEqual(leaseStateFromQueryResult({ payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data }] }), { holders: [HOLDER], queue: [] });
});
