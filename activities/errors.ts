/**
 * Failure types the workflows treat as final (not retried). Thrown as ApplicationFailure with
 * these types so the type survives serialization through Temporal.
 */
import type { ApplicationFailure } from '@temporalio/common';

export { ErrorTypes, type ErrorType } from '../common/error-types';
import type { ErrorType } from '../common/error-types';

export function finalError(type: ErrorType, message: string): ApplicationFailure {
  // Loaded when one is thrown: the CLI's reads (`connect`, `cluster status`) go through modules
  // that import this one (DBAAS_HOME paths, secrets) and need no Temporal package otherwise.
  const { ApplicationFailure: Failure } = require('@temporalio/common') as typeof import('@temporalio/common');
  return Failure.create({ type, message, nonRetryable: true });
}
