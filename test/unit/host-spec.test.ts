/** `host add` input: a second host on the same socket or address is refused, a good one passes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostRecordProblem } from '../../common/host-spec';

const h1 = { name: 'h1', docker: 'unix:///var/lib/dbaas-sim/h1/docker.sock', address: '10.77.0.11', zone: 'a' };

test('a host is added once: by name, by socket, by address', () => {
  assert.equal(hostRecordProblem(h1, []), undefined);
  assert.match(hostRecordProblem(h1, [h1]) ?? '', /already added/);
  assert.match(hostRecordProblem({ ...h1, name: 'h2' }, [h1]) ?? '', /already host h1/);
  assert.match(hostRecordProblem({ ...h1, name: 'h2', docker: 'unix:///other.sock' }, [h1]) ?? '', /10.77.0.11 is already host h1's/);
  assert.equal(hostRecordProblem({ name: 'h2', docker: 'unix:///other.sock' }, [h1]), undefined, 'address and zone are optional');
});

test("a host's task queue: dbaas-host-NAME beside the default queue, QUEUE-host-NAME beside a test's own", async () => {
  const { hostTaskQueue } = await import('../../common/task-queues');
  assert.equal(hostTaskQueue('dbaas', 'h1'), 'dbaas-host-h1');
  assert.equal(hostTaskQueue('fake-123-4', 'local'), 'fake-123-4-host-local');
});
