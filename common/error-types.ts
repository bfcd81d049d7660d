/**
 * The one list of failure types that activities throw as final (not retried) and workflows
 * recognise. Pure: workflows import it; activities throw them through activities/errors.ts.
 */
export const ErrorTypes = {
  /** A resource with our deterministic name exists but is not ours (labels/image differ). */
  ResourceConflict: 'ResourceConflict',
  ClusterExists: 'ClusterExists',
  ClusterNotFound: 'ClusterNotFound',
  NoPortsAvailable: 'NoPortsAvailable',
  SecretsMissing: 'SecretsMissing',
  /** A refused request about members (unknown, leader, last failover candidate, exists). */
  MemberRefused: 'MemberRefused',
  HaproxyConfigInvalid: 'HaproxyConfigInvalid',
  /** pgBackRest restore or recovery of a new cluster's first member failed (its last lines say why). */
  RestoreFailed: 'RestoreFailed',
  /**
   * A clone, restore or backup whose progress measure stood still for the stall window. Final:
   * the window already was the patience, and a retried wait would only watch the same stuck
   * process (the activity does not restart it) for another window before the workflow can
   * compensate or report.
   */
  Stalled: 'Stalled',
  /** A cluster name, label or member would make a path outside its directory in DBAAS_HOME. */
  PathRefused: 'PathRefused',
  /** The backup repository cannot be used: an S3 bucket unreachable, refusing our credentials, or holding another cluster's stanza. */
  RepositoryRefused: 'RepositoryRefused',
  /** A step that execs in the leader reached the worker of a host the leader is not on (it moved, or the step was routed before it did): the workflow asks where it is now. */
  LeaderElsewhere: 'LeaderElsewhere',
  /** pg_upgrade (its --check, or the upgrade itself before the point of no return) refused the data: its output says why. */
  UpgradeRefused: 'UpgradeRefused',
  /** A blue/green upgrade's logical copy cannot go on (the old leader failed over, or a slot is gone): the run takes it down. */
  CopyBroken: 'CopyBroken',
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];
