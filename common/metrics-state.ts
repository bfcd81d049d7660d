/**
 * Whether a cluster's exporters run, as a create's result and `cluster status` say it. The metrics
 * container is no part of serving: when it does not start the cluster serves without it, and
 * `dbaas cluster add-metrics NAME` adds it later. Pure.
 */
import type { Member } from './inventory';

export interface MetricsState {
  /** A running metrics container beside every front door (HAProxy). */
  running: boolean;
  /** Why not, when not: each front door without a running one. */
  problems: string[];
}

/** The state from the cluster's containers (every host's): a metrics container beside each HAProxy. */
export function metricsState(members: readonly Pick<Member, 'kind' | 'host' | 'state' | 'container'>[]): MetricsState {
  const doors = [...new Set(members.filter((m) => m.kind === 'haproxy').map((m) => m.host))].sort();
  if (doors.length === 0) return { running: false, problems: ['the cluster has no front door (HAProxy)'] };
  const problems = doors.flatMap((host) => {
    const m = members.find((x) => x.kind === 'metrics' && x.host === host);
    if (!m) return [`no metrics container on ${host}`];
    return m.state === 'running' ? [] : [`${m.container} on ${host} is ${m.state}`];
  });
  return { running: problems.length === 0, problems };
}

/** The line a create that could not start the exporters and `cluster status` print. */
export const metricsNotRunningLine = (cluster: string, reason: string): string =>
  `metrics: not running (${reason}); run \`dbaas cluster add-metrics ${cluster}\``;

/** The first line of an error message: a reason fits in one line. */
export const oneLine = (message: string): string => message.split('\n')[0].trim();
