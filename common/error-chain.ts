/** Temporal wraps a step's error (ActivityFailure, ChildWorkflowFailure): its own message is the innermost one. Pure. */
export function innermostMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause?: unknown }).cause;
  return e instanceof Error ? e.message : String(err);
}
