export { createCluster } from './createCluster';
export { deleteCluster } from './deleteCluster';
export type { DeleteClusterResult } from './deleteCluster';
