/**
 * `--no-wait` (a program-wide option): refuse instead of waiting for another operation's lease.
 * Its own module so that parsing the command line sets it without loading the Temporal client.
 */
let waitForLease = true;

export function setWaitForLease(wait: boolean): void {
  waitForLease = wait;
}

export function waitsForLease(): boolean {
  return waitForLease;
}
