/** The ClusterName keyword search attribute: every workflow of a cluster carries it. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTE_CLUSTER = 'ClusterName';

export const clusterNameKey = defineSearchAttributeKey(SEARCH_ATTRIBUTE_CLUSTER, SearchAttributeType.KEYWORD);
