import { ParentClosePolicy, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { clusterNameKey } from '../common/search-attributes';

/**
 * Options for an operation's per-member children (AddReplica, RemoveReplica): they carry the
 * cluster's search attribute, are granted the lease under their parent's, and finish (or
 * compensate) on their own if the parent is terminated.
 */
export function memberChildOptions(cluster: string) {
  return {
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [{ key: clusterNameKey, value: cluster }],
  };
}
