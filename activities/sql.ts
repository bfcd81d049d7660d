/** SQL through the cluster's HAProxy ports, with the superuser password read from the secret store. */
import type { Inventory } from './hosts/inventory';
import { Client } from 'pg';
import type { Paths } from '../common/paths';
import { DEFAULT_DATABASE, SUPERUSER } from '../common/service-users';
import type { ClusterPorts } from '../common/spec';
import type { Endpoint } from '../common/inventory';
import { pollUntil } from './heartbeat';
import { readClusterSecrets } from './secrets';
import { clusterHasTls, readCaCert } from './cluster-tls';

export interface ReadWriteProof {
  /** The member that took the write (leader). */
  writtenOn: string;
  /** The member that served the read through ro. */
  readOn: string;
  readInRecovery: boolean;
}

export interface ClientOptions {
  pooled?: boolean;
  /** Another database than DEFAULT_DATABASE. */
  database?: string;
  /** Another role than the superuser (e.g. proving that a role's password works). */
  login?: { user: string; password: string };
}

/** SQL at one of the front door's ports (Inventory.frontDoorAt; a bare port: on 127.0.0.1). */
export async function withClient<T>(
  paths: Paths, cluster: string, at: number | Endpoint, fn: (c: Client) => Promise<T>, opts: ClientOptions = {},
): Promise<T> {
  const { host, port } = typeof at === 'number' ? { host: '127.0.0.1', port: at } : at;
  const client = new Client({
    host,
    port,
    user: opts.login?.user ?? SUPERUSER,
    database: opts.database ?? DEFAULT_DATABASE,
    password: opts.login?.password ?? readClusterSecrets(paths, cluster).superuser,
    connectionTimeoutMillis: 3000,
    // verify-full: node checks the certificate against the cluster CA and the address dialled against its names.
    ...(clusterHasTls(paths, cluster) ? { ssl: { ca: readCaCert(paths, cluster) } } : {}),
    // PgBouncer refuses startup parameters it does not track (statement_timeout among them).
    ...(opts.pooled ? {} : { statement_timeout: 10000 }),
  });
  // A refused/reset connection emits 'error' on the client; without a listener it would crash the worker.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Which server answered (its address on the cluster network) and whether it is a replica. */
const WHO = 'select pg_is_in_recovery() as rec, inet_server_addr()::text as addr';

export function createSqlActivities(inv: Inventory, paths: Paths) {
  return {
    /** A query through ro lands on the member (round robin: reconnect until it does). */
    async proveReadOnMember(i: { cluster: string; member: string; roPort: number }): Promise<{ attempts: number }> {
      // Its address on the cluster network: what inet_server_addr() says on it.
      const ip = (await inv.member(i.cluster, i.member))?.ip;
      if (!ip) throw new Error(`${i.member} is not running`);
      const ro = await inv.frontDoorAt(i.cluster, i.roPort);
      let attempts = 0;
      return pollUntil<{ attempts: number }>(
        `a read through ro served by ${i.member}`,
        async () => {
          attempts++;
          const r = await withClient(paths, i.cluster, ro, (c) => c.query<{ rec: boolean; addr: string }>(WHO));
          const served = r.rows[0].addr.replace(/\/\d+$/, '');
          return served === ip && r.rows[0].rec ? { done: { attempts } } : { status: `attempt ${attempts} served by ${served}` };
        },
        { intervalMs: 50, timeoutMs: 60_000 },
      );
    },

    /**
     * Proof that the cluster serves: write a row through rw, read it back through ro from a
     * server in recovery (a replica). The token makes the row unique to this check.
     */
    async verifyReadWrite(i: { cluster: string; ports: ClusterPorts; token: string; expectReplica: boolean }): Promise<ReadWriteProof> {
      const writtenOn = await pollUntil<string>(
        'a write through rw',
        async () => {
          const addr = await withClient(paths, i.cluster, await inv.frontDoorAt(i.cluster, i.ports.rw), async (c) => {
            await c.query('create schema if not exists dbaas');
            await c.query('create table if not exists dbaas.smoke (token text primary key, written_at timestamptz not null default now())');
            await c.query('insert into dbaas.smoke (token) values ($1) on conflict (token) do nothing', [i.token]);
            const r = await c.query<{ rec: boolean; addr: string }>(WHO);
            if (r.rows[0].rec) throw new Error('rw port reached a server in recovery');
            return r.rows[0].addr;
          });
          return { done: addr };
        },
        { intervalMs: 500, timeoutMs: 60_000 },
      );
      const port = i.expectReplica ? i.ports.ro : i.ports.rw;
      const read = await pollUntil<{ rec: boolean; addr: string }>(
        `the row read back through ${i.expectReplica ? 'ro' : 'rw'}`,
        async () =>
          withClient(paths, i.cluster, await inv.frontDoorAt(i.cluster, port), async (c) => {
            const r = await c.query<{ rec: boolean; addr: string }>(WHO);
            const row = await c.query('select 1 from dbaas.smoke where token = $1', [i.token]).catch(() => ({ rowCount: 0 }));
            if (i.expectReplica && !r.rows[0].rec) return { status: 'ro reached a server not in recovery' };
            if (!row.rowCount) return { status: `row not yet visible on ${r.rows[0].addr}` };
            return { done: r.rows[0] };
          }),
        { intervalMs: 250, timeoutMs: 60_000 },
      );
      return { writtenOn, readOn: read.addr, readInRecovery: read.rec };
    },
  };
}
