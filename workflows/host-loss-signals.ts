/** What ReplaceLostMembers tells the cluster watch when it ends (its own file: both workflows import it). */
import { defineSignal } from '@temporalio/workflow';

export interface HostLossOutcome {
  host: string;
  /** The loss it answered (LostHost.since). */
  since: number;
  /** Lost members that now have a replacement: their containers are fenced when their host answers again. */
  retired: string[];
  /** One line for the event log. */
  message: string;
  ok: boolean;
}

export const hostLossOutcomeSignal = defineSignal<[HostLossOutcome]>('hostLossOutcome');
