/**
 * Order checks on recorded activity calls. `indexOf` of a call that never happened is -1, which
 * is "before" everything: every position here first asserts the call is there.
 */
import assert from 'node:assert/strict';

/** Index of the first (or last) `name` in `names`; fails the test when `name` was never called. */
export function positionOf(names: string[], name: string, which: 'first' | 'last' = 'first'): number {
  const i = which === 'first' ? names.indexOf(name) : names.lastIndexOf(name);
  assert.ok(i >= 0, `${name} was called (calls: ${names.join(', ')})`);
  return i;
}

/** `earlier` was called, `later` was called, and the first `earlier` came before the first `later`. */
export function assertCalledBefore(names: string[], earlier: string, later: string, message?: string): void {
  assert.ok(positionOf(names, earlier) < positionOf(names, later), message ?? `${earlier} before ${later}`);
}
