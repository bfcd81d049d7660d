/**
 * `dbaas cluster config NAME [--json]`, `dbaas cluster config set NAME KEY=VALUE... [--restart
 * rolling|none]` and `dbaas cluster config unset NAME KEY... [--restart rolling|none]`: PostgreSQL
 * parameters (workflow setParameters). Every pair is checked against the leader's pg_settings
 * before anything starts; the workflow checks again under the cluster's lease.
 */
import { createHash } from 'node:crypto';
import { leaderSettings } from '../../activities/parameters';
import { restartSnapshot } from '../../activities/member-restart';
import { planRestart } from '../../common/cluster-restart';
import {
  changeProblems, normalizedChanges, parseAssignment, setParametersInputProblem, settingsToRead,
  type ParameterChange, type RestartMode, type SetParametersInput, type SetParametersResult,
} from '../../common/set-parameters';
import { parameterWorkflowIds } from '../../common/workflow-ids';
import type { setParameters } from '../../workflows';
import { requireLiveCluster } from '../cluster-info';
import { connectInventory } from '../connections';
import { UsageError } from '../errors';
import { readConfigView, type ConfigView } from '../parameter-view';
import { table } from '../table';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';

export async function configShowCommand(cluster: string, o: { json: boolean }): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const v = await readConfigView(inv, cluster);
  if (o.json) {
    console.log(JSON.stringify(v, null, 2));
    return;
  }
  printView(v);
}

function printView(v: ConfigView): void {
  const t = table(['NAME', 'VALUE', 'SETTING', 'SOURCE', 'PENDING RESTART']);
  for (const p of v.parameters) {
    const pending = p.pendingRestartOn.length > 0 ? `${p.pendingRestartOn.join(', ')}${p.dcsValue !== null ? ` (→ ${p.dcsValue})` : ''}` : '';
    t.push([p.name, p.value, p.unit ? `${p.setting} × ${p.unit}` : '', p.origin, pending]);
  }
  console.log(`${v.cluster}: parameters not at their default on ${v.readFrom}${v.readFrom === v.leader ? ' (leader)' : ''}`);
  console.log(t.toString());
  if (v.notRunning.length > 0) console.log(`not running: ${v.notRunning.join(', ')}`);
  if (v.unreadable.length > 0) console.log(`PostgreSQL did not answer on: ${v.unreadable.join(', ')}`);
}

/** The same request again follows the run going; another one is its own run, after it under the lease. */
const requestId = (changes: ParameterChange[], restart: RestartMode): string =>
  createHash('sha256').update(JSON.stringify({ changes, restart })).digest('hex').slice(0, 12);

export async function configChangeCommand(cluster: string, args: string[], o: { restart: RestartMode }, unset: boolean): Promise<void> {
  const parsed = args.map((a) => parseAssignment(a, unset));
  const bad = parsed.find((p): p is { problem: string } => 'problem' in p);
  if (bad) throw new UsageError(bad.problem);
  const asked = parsed as ParameterChange[];
  const shape = setParametersInputProblem({ cluster, changes: asked, restart: o.restart });
  if (shape) throw new UsageError(shape);
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  const { settings } = await leaderSettings(inv, cluster, settingsToRead(asked.map((c) => c.name)));
  const problems = changeProblems(asked, settings);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const input: SetParametersInput = { cluster, changes: normalizedChanges(asked, settings), restart: o.restart };
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof setParameters>(
      gateway, 'setParameters', parameterWorkflowIds.set(cluster, requestId(input.changes, input.restart)), cluster, [input],
      { running: `this parameter change of ${cluster} is running`, starting: `changing parameters of ${cluster}` },
      async () => {
        if (o.restart !== 'rolling') return;
        const d = planRestart(await restartSnapshot(inv, cluster), {});
        if (d.kind === 'refuse') throw new UsageError(`--restart rolling: ${d.reason}`);
      },
    );
    printResult(await followRun<SetParametersResult>(gateway, handle, `cluster config ${unset ? 'unset' : 'set'} ${cluster}`));
  } finally {
    await gateway.close();
  }
}

function printResult(r: SetParametersResult): void {
  for (const p of r.parameters) {
    const what = p.value === null ? `unset ${p.name}` : `${p.name}=${p.value}`;
    if (p.outcome === 'applied') console.log(`${what}: applied`);
    else if (p.outcome === 'restarted') console.log(`${what}: restarted (${p.restartedOn.join(', ')})`);
    else console.log(`${what}: pending restart (${p.pendingOn.join(', ')})`);
  }
  if (r.writeDowntime) console.log(`${r.cluster}: restarted ${r.restarted.join(', ') || 'no member'}; write downtime: ${r.writeDowntime}`);
  if (r.parameters.some((p) => p.outcome === 'pending restart') && r.writeDowntime === undefined) {
    const first = r.leaderFirst ?? [];
    console.log(first.length > 0
      ? `restart with \`dbaas cluster restart ${r.cluster}\` (not --member), or set them again with --restart rolling: a lower ${first.join(', ')} applies only once the leader restarts with it first (replicas cannot run less than their primary), which both do`
      : `restart with \`dbaas cluster restart ${r.cluster}\`, or set them with --restart rolling`);
  }
  if (r.notRunning.length > 0) console.log(`not running (they start with the new values): ${r.notRunning.join(', ')}`);
  if (r.pooler) console.log(`pooler pools: ${r.pooler}`);
}
