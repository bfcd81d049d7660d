/** Step progress as reported by every workflow's `progress` query. */

export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepProgress {
  name: string;
  state: StepState;
  /** Short detail, e.g. the last heartbeat-reported status. Never contains secrets. */
  detail?: string;
}

export interface Progress {
  operation: string;
  cluster: string;
  steps: StepProgress[];
}

export const PROGRESS_QUERY = 'progress';
