/** The Temporal task queue the worker polls: every workflow and activity of dbaas runs there. */
export const TASK_QUEUE = 'dbaas';
