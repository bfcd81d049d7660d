/** Temporal wraps a step's error (ActivityFailure, ChildWorkflowFailure): its own message is the innermost one. Pure. */
export function innermostMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause?: unknown }).cause;
  return e instanceof Error ? e.message : String(err);
}

/** The innermost ApplicationFailure type along the chain (a refusal stays a refusal when wrapped). */
export function innermostType(err: unknown): string | undefined {
  let e: unknown = err;
  let type: string | undefined;
  while (e instanceof Error) {
    type = (e as { type?: string }).type ?? type;
    e = (e as { cause?: unknown }).cause;
  }
  return type;
}
