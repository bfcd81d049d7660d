import { ApplicationFailure } from '@temporalio/workflow';
import { namesProblem, type NamesToCheck } from '../common/input-checks';

/**
 * Refuse a workflow's input whose names dbaas would never make (`../../x`, `a/b`): final, before
 * any activity runs, so nothing builds a path or a Docker name from it.
 */
export function checkNames(n: NamesToCheck): void {
  const problem = namesProblem(n);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'SpecError');
}
