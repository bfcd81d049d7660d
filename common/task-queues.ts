/** The Temporal task queues: the shared one (workflows, and activities any worker can run) and one per host. */
import type { HostName } from './inventory';

export const TASK_QUEUE = 'dbaas';

/**
 * The queue of the worker that owns a host's engine (Temporal's worker-specific task queues):
 * `dbaas-host-<name>` beside the default queue, `<queue>-host-<name>` beside another (tests run
 * workflows on queues of their own), as lease ids are derived.
 */
export const hostTaskQueue = (queue: string, host: HostName): string => (queue === TASK_QUEUE ? `dbaas-host-${host}` : `${queue}-host-${host}`);
