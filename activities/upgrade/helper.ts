/**
 * The one-shot pg_upgrade helper: a container of dbaas/postgres-upgrade on a stopped member's
 * data volume, without a network. It is found again by its name: a step retried after the worker
 * was killed waits for the helper still at work, then runs the script again, which picks up
 * where that run stopped (pg-upgrade-script.ts).
 */
import type Docker from 'dockerode';
import { IMAGES } from '../../common/images';
import { labels } from '../../common/labels';
import { DATA_ROOT } from '../../common/render/patroni';
import { containerName, volumeName } from '../../common/resource-names';
import type { PostgresVersion } from '../../common/postgres-version';
import { demux, isNotFound, withRunLabel } from '../docker';
import { ErrorTypes, finalError } from '../errors';
import { heartbeat } from '../heartbeat';
import { PG_UPGRADE_REFUSED_EXIT, renderPgUpgradeScript, UNEXPECTED_DATA_EXIT, type PgUpgradeMode } from './pg-upgrade-script';

export interface PgUpgradeInput {
  cluster: string;
  member: string;
  from: PostgresVersion;
  to: PostgresVersion;
  mode: PgUpgradeMode;
}

export const helperName = (cluster: string, member: string): string => containerName(cluster, `${member}-upgrade`);

/** Its last lines: what the script did. */
const tail = (out: string, n: number): string => out.trim().split('\n').slice(-n).join('\n');

/**
 * pg_upgrade's reason on one line: the check that failed and the objects its report file lists
 * (the script prints each file after a `--- NAME` line), or its last lines when it says no check.
 */
export function pgUpgradeReason(output: string): string {
  const lines = output.split('\n').map((l) => l.trimEnd());
  const failed = lines.map((l) => /failed check: (.*)$/.exec(l)?.[1]).find((x) => x !== undefined);
  const objects: string[] = [];
  let db = '';
  let inFile = false;
  for (const l of lines) {
    if (l.startsWith('--- ')) inFile = true;
    else if (inFile && l.startsWith('In database: ')) db = l.slice('In database: '.length);
    else if (inFile && l.trim() !== '') objects.push(db ? `${db}: ${l.trim()}` : l.trim());
  }
  const what = failed ?? lines.filter((l) => l.trim() !== '' && !l.startsWith('--- ')).slice(-3).join(' / ');
  return objects.length === 0 ? what : `${what} (${objects.slice(0, 10).join(', ')}${objects.length > 10 ? `, and ${objects.length - 10} more` : ''})`;
}

export async function runPgUpgrade(docker: Docker, i: PgUpgradeInput): Promise<{ output: string }> {
  const name = helperName(i.cluster, i.member);
  await waitForEarlierHelper(docker, name);
  const memberContainer = docker.getContainer(containerName(i.cluster, i.member));
  const running = await memberContainer.inspect().then((c) => c.State.Running, (err: unknown) => {
    if (isNotFound(err)) return false;
    throw err;
  });
  if (running) throw finalError(ErrorTypes.UpgradeRefused, `${i.member} still runs: pg_upgrade works on a stopped member's data only`);
  const ct = await docker.createContainer({
    name,
    Image: IMAGES.postgresUpgrade,
    User: 'postgres',
    Entrypoint: ['sh', '-c'],
    Cmd: [renderPgUpgradeScript(i.from, i.to, i.mode)],
    Labels: withRunLabel(labels(i.cluster, 'upgrade', i.member)),
    HostConfig: {
      NetworkMode: 'none',
      Binds: [`${volumeName(i.cluster, i.member)}:${DATA_ROOT}`],
      ShmSize: 256 * 1024 * 1024,
    },
  });
  try {
    heartbeat(`pg_upgrade ${i.mode === 'check' ? '--check' : '--link'} on ${i.member}'s data`);
    await ct.start();
    const { StatusCode } = (await ct.wait()) as { StatusCode: number };
    const output = demux((await ct.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    if (StatusCode === PG_UPGRADE_REFUSED_EXIT) {
      throw finalError(ErrorTypes.UpgradeRefused, `pg_upgrade ${i.mode === 'check' ? '--check ' : ''}refused ${i.member}'s data: ${pgUpgradeReason(output)}`);
    }
    if (StatusCode === UNEXPECTED_DATA_EXIT) throw finalError(ErrorTypes.MemberRefused, `${i.member}: ${tail(output, 1)}`);
    // Killed (137), out of space, ...: retried; the script picks up where this run stopped.
    if (StatusCode !== 0) throw new Error(`the pg_upgrade helper on ${i.member} exited ${StatusCode}: ${tail(output, 3).replace(/\n/g, ' / ')}`);
    return { output: tail(output, 5) };
  } finally {
    await ct.remove({ force: true }).catch(() => undefined);
  }
}

/** A helper left by an attempt whose worker died: let it finish (killing pg_upgrade mid-link helps nobody), then remove it. */
export async function waitForEarlierHelper(docker: Docker, name: string): Promise<void> {
  const earlier = docker.getContainer(name);
  try {
    const c = await earlier.inspect();
    if (c.State.Running) {
      heartbeat(`waiting for the helper an earlier attempt started (${name})`);
      await earlier.wait();
    }
    await earlier.remove({ force: true });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
