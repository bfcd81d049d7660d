/** The ClusterName keyword search attribute's name, without the SDK (./search-attributes.ts defines its typed key). */
export const SEARCH_ATTRIBUTE_CLUSTER = 'ClusterName';
