export { createCluster } from './createCluster';
export { deleteCluster } from './deleteCluster';
export type { DeleteClusterResult } from './deleteCluster';
export { addReplica } from './addReplica';
export { removeReplica } from './removeReplica';
export { scaleReadOnly } from './scaleReadOnly';
export type { ScaleReadOnlyInput, ScaleReadOnlyResult } from './scaleReadOnly';
