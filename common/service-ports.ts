/** Ports the services listen on inside their containers (the host ports are in common/ports.ts). */
export const PG_PORT = 5432;
export const PATRONI_API_PORT = 8008;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const HAPROXY_RW_PORT = 5000;
export const HAPROXY_RO_PORT = 5001;
export const HAPROXY_STATS_PORT = 7000;
