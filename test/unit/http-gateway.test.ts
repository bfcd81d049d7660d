/**
 * client/temporal/http-gateway.ts against a small HTTP server that answers as Temporal's HTTP API
 * does (shapes read off the dev server, `temporal server start-dev --http-port`): the start's
 * long-form payloads, a query's value, and the result's long-poll and failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerJson as json, withFakeHttpApi } from '../helpers/fake-temporal-http';
import { httpGateway } from '../../client/temporal/http-gateway';
import { WorkflowAlreadyRunning, isWorkflowRunFailure } from '../../client/temporal/gateway';
import { innermostType } from '../../common/error-chain';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const payload = (v: unknown): unknown => ({ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(v)) });
const decode = (p: { data: string }): unknown => JSON.parse(Buffer.from(p.data, 'base64').toString());



test('start: the input, memo and ClusterName in the long form (empty lists stay lists); a running id is WorkflowAlreadyRunning', async () => {
  const bodies: unknown[] = [];
  let calls = 0;
  await withFakeHttpApi((req, body, res) => {
    bodies.push(JSON.parse(body));
    calls++;
    if (calls === 1) return json(res, 200, { runId: 'r1', started: true });
    json(res, 409, { code: 6, message: 'Workflow execution is already running. WorkflowId: backup:orders:x' });
  }, async (address) => {
    const gw = httpGateway(address, 'default');
    const request = { workflowType: 'backup', workflowId: 'backup:orders:x', taskQueue: 'dbaas', args: [{ cluster: 'orders', skip: [] }], cluster: 'orders', memo: { noWait: true } };
    const run = await gw.start(request);
    assert.equal(run.workflowId, 'backup:orders:x');
    await assert.rejects(gw.start(request), WorkflowAlreadyRunning);
    await gw.close();
  });
  const b = bodies[0] as { input: { payloads: { data: string }[] }; searchAttributes: { indexedFields: Record<string, { metadata: Record<string, string>; data: string }> }; memo: { fields: Record<string, { data: string }> }; workflowType: { name: string }; taskQueue: { name: string } };
  assert.equal(b.workflowType.name, 'backup');
  assert.equal(b.taskQueue.name, 'dbaas');
  assert.deepEqual(b.input.payloads.map(decode), [{ cluster: 'orders', skip: [] }]);
  assert.equal(decode(b.searchAttributes.indexedFields.ClusterName), 'orders');
  assert.equal(Buffer.from(b.searchAttributes.indexedFields.ClusterName.metadata.type, 'base64').toString(), 'Keyword');
  assert.equal(decode(b.memo.fields.noWait), true);
});

test('query and result: the long form asked for; the long-poll is repeated until the close event', async () => {
  const urls: string[] = [];
  let polls = 0;
  await withFakeHttpApi((req, _body, res) => {
    urls.push(`${req.method} ${req.url}`);
    if (req.url?.includes('/query/progress')) return json(res, 200, { queryResult: { payloads: [payload({ steps: [] })] } });
    polls++;
    // The server answers an expired long-poll with no event and a page token.
    if (polls === 1) return json(res, 200, { history: {}, nextPageToken: 'dG9rZW4=' });
    json(res, 200, { history: { events: [{ eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED', workflowExecutionCompletedEventAttributes: { result: { payloads: [payload({ label: 'F1', prior: [] })] } } }] } });
  }, async (address) => {
    const gw = httpGateway(address, 'default');
    const run = gw.attach('backup:orders:x');
    assert.deepEqual(await run.query('progress'), { steps: [] });
    assert.deepEqual(await run.result(), { label: 'F1', prior: [] });
    await gw.close();
  });
  assert.match(urls[0], /^POST \/api\/v1\/namespaces\/default\/workflows\/backup%3Aorders%3Ax\/query\/progress\?noPayloadShorthand$/);
  assert.match(urls[1], /\/history\?waitNewEvent=true&historyEventFilterType=HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT&noPayloadShorthand$/);
  assert.match(urls[2], /&nextPageToken=dG9rZW4%3D&noPayloadShorthand$/);
});

test('a failed run: the failure chain with its ApplicationFailure type (what the CLI maps to exit 2 or 1)', async () => {
  await withFakeHttpApi((_req, _body, res) => {
    json(res, 200, { history: { events: [{
      eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
      workflowExecutionFailedEventAttributes: { failure: { message: 'Activity task failed', activityFailureInfo: {}, cause: { message: 'no cluster named nosuch', applicationFailureInfo: { type: 'ClusterNotFound', nonRetryable: true } } } },
    }] } });
  }, async (address) => {
    const gw = httpGateway(address, 'default');
    const err = await gw.attach('backup:nosuch:x').result().then(() => undefined, (e: unknown) => e);
    assert.ok(isWorkflowRunFailure(err));
    assert.equal(innermostType(err), 'ClusterNotFound');
    assert.equal(((err as Error).cause as Error).cause instanceof Error && (((err as Error).cause as Error).cause as Error).message, 'no cluster named nosuch');
    await gw.close();
  });
});

test('nothing listening: not reachable (the CLI then goes through gRPC)', async () => {
  const srv = http.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  const gw = httpGateway(`127.0.0.1:${port}`, 'default');
  assert.equal(await gw.reachable(), false);
  await gw.close();
});

test('a server restarting while the result is awaited (unavailable, then the close event): the follower asks again', async () => {
  let calls = 0;
  await withFakeHttpApi((_req, _body, res) => {
    calls++;
    if (calls === 1) return json(res, 503, { code: 14, message: 'connection refused' });
    json(res, 200, { history: { events: [{ eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED', workflowExecutionCompletedEventAttributes: { result: { payloads: [payload('done')] } } }] } });
  }, async (address) => {
    const gw = httpGateway(address, 'default');
    assert.equal(await gw.attach('create-cluster:orders').result(), 'done');
    await gw.close();
  });
  assert.equal(calls, 2);
});
