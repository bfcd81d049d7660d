/**
 * Step bookkeeping shared by all workflows: the plan's steps are declared up front so the
 * `progress` query shows done, running and pending steps from the first moment.
 */
import { defineQuery, setHandler } from '@temporalio/workflow';
import type { Progress, StepProgress } from '../common/progress';
import { innermostMessage } from '../common/error-chain';

export const progressQuery = defineQuery<Progress>('progress');

export class Steps {
  private readonly steps: StepProgress[];

  constructor(readonly operation: string, private readonly cluster: string, planned: string[]) {
    this.steps = planned.map((name) => ({ name, state: 'pending' }));
    setHandler(progressQuery, () => ({ operation: this.operation, cluster: this.cluster, steps: this.steps.map((s) => ({ ...s })) }));
  }

  private find(name: string): StepProgress {
    let s = this.steps.find((x) => x.name === name);
    if (!s) {
      s = { name, state: 'pending' };
      this.steps.push(s);
    }
    return s;
  }

  /** Append steps to the plan (once the spec that decides them is known). */
  plan(names: string[]): void {
    for (const n of names) this.find(n);
  }

  /** Run one step of the plan, recording its state for the progress query. */
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const s = this.find(name);
    s.state = 'running';
    try {
      const r = await fn();
      s.state = 'done';
      return r;
    } catch (err) {
      s.state = 'failed';
      // The activity's own message, not Temporal's wrapper ("Activity task failed").
      s.detail = innermostMessage(err);
      throw err;
    }
  }

  /** The last step that failed: where a run's error came from. */
  lastFailed(): string | undefined {
    return [...this.steps].reverse().find((s) => s.state === 'failed')?.name;
  }

  /** Say how a running step is getting on (a wait's latest reading). */
  note(name: string, detail: string): void {
    this.find(name).detail = detail;
  }

  /** Mark one planned step that will not run as skipped, saying why. */
  skip(name: string, detail: string): void {
    const s = this.find(name);
    s.state = 'skipped';
    s.detail = detail;
  }

  /** Mark the steps that will not run (after a failure) as skipped. */
  skipPending(): void {
    for (const s of this.steps) if (s.state === 'pending') s.state = 'skipped';
  }
}
