/** Commands in a test's containers: checked execs, psql over the socket, polling. */
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { execIn } from '../../activities/docker';
import { containerName } from '../../common/names';
import { SOCKET_DIR } from '../../common/render/patroni';

/** Run cmd in container; fail the test with its output unless it exits 0. */
export async function execOk(docker: Docker, container: string, cmd: string[], stdin?: string): Promise<string> {
  const r = await execIn(docker, container, cmd, stdin);
  assert.equal(r.exitCode, 0, `${container}: ${cmd.join(' ')}:\n${r.output}`);
  return r.output;
}

/** One statement as postgres over the container's socket; the rows unaligned, trimmed. */
export async function psqlIn(docker: Docker, container: string, text: string): Promise<string> {
  return (await execOk(docker, container, ['psql', '-h', SOCKET_DIR, '-U', 'postgres', '-XAtq', '-c', text])).trim();
}

/** Poll check every 200 ms until it holds; fail the test after timeoutMs. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The containers of a repository-host test: the repository host, a primary, its standby and an empty restore target. */
export function repositoryHostLayout(owner: string): { repoHost: string; primary: string; standby: string; restoreHost: string } {
  return { repoHost: containerName(owner, 'repo'), primary: containerName(owner, 'pg-0'), standby: containerName(owner, 'pg-1'), restoreHost: containerName(owner, 'pg-2') };
}
