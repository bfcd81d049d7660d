/**
 * Failure types the workflows treat as final (not retried). Thrown as ApplicationFailure with
 * these types so the type survives serialization through Temporal.
 */
import { ApplicationFailure } from '@temporalio/common';

export { ErrorTypes, type ErrorType } from '../common/error-types';
import type { ErrorType } from '../common/error-types';

export function finalError(type: ErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
