import { ApplicationFailure } from '@temporalio/workflow';

/** A refused request: final (not retried), and the CLI maps it to exit 2. */
export function refuse(message: string): never {
  throw ApplicationFailure.nonRetryable(message, 'MemberRefused');
}
