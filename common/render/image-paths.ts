/**
 * Paths inside the member image that more than one renderer, and more than the renderers, need
 * (`cluster status` reads the data volume's use at its mount point). Pure, and imports nothing:
 * render/pgbackrest.ts takes them from here, not from render/patroni.ts (and its YAML library).
 */

/** Where a member's data volume is mounted; the data directory is below it. */
export const DATA_ROOT = '/var/lib/dbaas';
export const DATA_DIR = `${DATA_ROOT}/pgdata`;
export const SOCKET_DIR = '/var/run/postgresql';
