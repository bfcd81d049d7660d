/**
 * Workflow ids, one group per kind of operation. Deterministic: starting the same operation again
 * finds the run already going (the CLI attaches to it) instead of starting a second one.
 */

export const workflowIds = {
  createCluster: (c: string): string => `create-cluster:${c}`,
  deleteCluster: (c: string): string => `delete-cluster:${c}`,
  /** The least-privilege app role for a cluster made before CreateCluster made it. */
  addAppRole: (c: string): string => `add-app-role:${c}`,
};

export const replicaWorkflowIds = {
  add: (c: string, m: string): string => `add-replica:${c}:${m}`,
  /** One `replica add` request; the members' names are chosen under the lease. */
  addMany: (c: string, request: string): string => `add-replicas:${c}:${request}`,
  remove: (c: string, m: string): string => `remove-replica:${c}:${m}`,
  scaleReadOnly: (c: string): string => `scale-read-only:${c}`,
  /** Pooled endpoints for a cluster made before dbaas created them. */
  addPoolers: (c: string): string => `add-poolers:${c}`,
  /** The exporters for a cluster made before dbaas started them. */
  addMetrics: (c: string): string => `add-metrics:${c}`,
};

/** High-availability operations (issue 4). */
export const haWorkflowIds = {
  switchover: (c: string, id: string): string => `switchover:${c}:${id}`,
  clusterWatch: (c: string): string => `cluster-watch:${c}`,
  /** One loss of one host (since: when the watch first saw it lost, ms). */
  replaceLostMembers: (c: string, host: string, since: number): string => `replace-lost-members:${c}:${host}:${since}`,
  setProfile: (c: string): string => `set-profile:${c}`,
  setSync: (c: string): string => `set-sync:${c}`,
  /** A rolling restart of the whole cluster, or of one member: the same request again follows the running one. */
  restart: (c: string, member?: string): string => (member === undefined ? `restart-cluster:${c}` : `restart-cluster:${c}:${member}`),
};

export const backupWorkflowIds = {
  backup: (c: string, id: string): string => `backup:${c}:${id}`,
  verify: (c: string, label: string): string => `verify-backup:${c}:${label}`,
  /** Repository and WAL archiving for a cluster made without them. */
  enable: (c: string): string => `enable-backups:${c}`,
};

export const restoreWorkflowIds = {
  restore: (source: string, into: string): string => `restore:${source}:${into}`,
};

export const securityWorkflowIds = {
  rotateCertificates: (c: string): string => `rotate-certs:${c}`,
};

/** Operations on hosts (issue 13). */
export const hostWorkflowIds = {
  drain: (host: string): string => `drain-host:${host}`,
  /** One cluster's share of a drain (its own lease). */
  drainCluster: (c: string, host: string): string => `drain-cluster-from-host:${c}:${host}`,
};

/** Major-version upgrades: one at a time per cluster (the lease serializes them anyway). */
export const upgradeWorkflowIds = {
  inPlace: (c: string): string => `upgrade-in-place:${c}`,
  blueGreen: (c: string): string => `upgrade-blue-green:${c}`,
};

/** Day-2 operations (issue 16). */
export const parameterWorkflowIds = {
  /** One `cluster config set|unset` request (a hash of its changes): the same request again follows the running one. */
  set: (c: string, request: string): string => `set-parameters:${c}:${request}`,
};

/** Databases and login roles users ask for (issue 16): the same request again follows the running one. */
export const databaseWorkflowIds = {
  createDatabase: (c: string, db: string): string => `create-database:${c}:${db}`,
  dropDatabase: (c: string, db: string): string => `drop-database:${c}:${db}`,
  createUser: (c: string, role: string): string => `create-user:${c}:${role}`,
  dropUser: (c: string, role: string): string => `drop-user:${c}:${role}`,
  rotateUser: (c: string, role: string): string => `rotate-user:${c}:${role}`,
};

/** Rebuild and resize (issue 16): the same request again follows the running one. */
export const rebuildWorkflowIds = {
  rebuild: (c: string): string => `rebuild-cluster:${c}`,
  /** One `cluster resize` request (common/cluster-rebuild.ts resizeRequestKey). */
  resize: (c: string, request: string): string => `resize-cluster:${c}:${request}`,
};
