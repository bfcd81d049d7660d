/**
 * Promise.all for steps that run side by side, except that it fails only once every step has
 * settled. With Promise.all a compensation starts at the first failure while a sibling activity
 * is still creating a container, which it then creates after the compensation removed the rest
 * (seen: a create whose HAProxy failed left both PgBouncers behind).
 */
export async function settleAll<T extends readonly unknown[] | []>(steps: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = (await Promise.allSettled(steps)) as PromiseSettledResult<unknown>[];
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
