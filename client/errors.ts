/** CLI exit codes: 0 success, 1 the operation failed, 2 bad input. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

export class OperationError extends Error {
  override name = 'OperationError';
  readonly exitCode = 1;
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return 2;
  return 1;
}

/** Another operation holds the cluster and `--no-wait` was given: exit 1 with the line that says which. */
export class LeaseBusyError extends OperationError {
  override name = 'LeaseBusyError';
}
