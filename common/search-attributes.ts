/** The ClusterName keyword search attribute: every workflow of a cluster carries it. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_CLUSTER } from './search-attribute-name';

export { SEARCH_ATTRIBUTE_CLUSTER } from './search-attribute-name';

export const clusterNameKey = defineSearchAttributeKey(SEARCH_ATTRIBUTE_CLUSTER, SearchAttributeType.KEYWORD);
