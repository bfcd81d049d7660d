/**
 * A blue/green upgrade's copy (docs/design/blue-green-upgrade.md, steps 3 to 5), from the old
 * generation's leader (the publisher) to the new generation's leader (the subscriber): roles,
 * schema, then a publication and a subscription per database, and how far behind they are.
 *
 * The new members reach the old leader over the cluster network as its superuser, with TLS where
 * the cluster has it (the same CA signs both generations' certificates). The password is in a
 * passfile on the new members, written through stdin: never on a command line, in the catalog
 * (pg_subscription keeps only the conninfo), in a log, or in what an activity returns. Dump output
 * (role verifiers among it) goes straight from pg_dump into psql inside the new leader.
 */
import type Docker from 'dockerode';
import type { Paths } from '../../common/paths';
import { clusterHasTls } from '../cluster-tls';
import { readClusterSecrets } from '../secrets';
import { PG_PORT } from '../../common/service-ports';
import { SUPERUSER } from '../../common/service-users';
import { DATA_ROOT, MEMBER_TLS, SOCKET_DIR } from '../../common/render/patroni';
import { containerName } from '../../common/resource-names';
import { pgBinDir, type PostgresVersion } from '../../common/postgres-version';
import type { LogicalCopyCapacity } from '../../common/logical-replication';
import { execIn } from '../docker';
import { heartbeat } from '../heartbeat';
import { psqlOn, userDatabases } from './psql';
import {
  CREATE_PUBLICATION_SQL, CURRENT_LSN_SQL, PUBLICATION, createSubscriptionSql, publisherConninfo, quoteIdent, quoteLiteral,
  replicationLagBytes, slotName, subscriptionExistsSql, subscriptionName, subscriptionProgressSql, type PublisherAddress,
} from './logical-copy-sql';

/** The two leaders of a copy, and the generation it builds. */
export interface CopyEnds {
  cluster: string;
  /** The old generation's leader (member name). */
  publisher: string;
  /** The new generation's leader. */
  subscriber: string;
  generation: number;
  /** The new generation's major (its pg_dump and psql). */
  to: PostgresVersion;
}

export interface CopyProgress {
  /** Tables whose initial copy has not finished, over every database. */
  pendingTables: number;
  /** The largest lag of any database's subscription in bytes; null until each has reported a position. */
  lagBytes: number | null;
}

/** On the new members' data volume: it outlives container re-creation, and goes with the generation. */
export const passfilePath = (generation: number): string => `${DATA_ROOT}/upgrade-g${generation}.pgpass`;

/** A .pgpass line: `:` and `\` escaped in every field. */
export function pgpassLine(host: string, port: number, user: string, password: string): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  return `${esc(host)}:${port}:*:${esc(user)}:${esc(password)}\n`;
}

function publisherAddress(e: CopyEnds, database: string, tls: boolean): PublisherAddress {
  return {
    host: containerName(e.cluster, e.publisher), port: PG_PORT, user: SUPERUSER, database, passfile: passfilePath(e.generation),
    ...(tls ? { sslRootCert: MEMBER_TLS.ca } : {}),
  };
}

/** The last lines of a failed command's output: psql's and pg_dump's errors name objects, never row data or verifiers. */
const tail = (output: string): string => output.trim().split('\n').slice(-3).join(' | ');

export function createLogicalCopySteps(docker: Docker, paths: Paths) {
  const tls = (cluster: string): boolean => clusterHasTls(paths, cluster);
  const leader = (e: CopyEnds, side: 'publisher' | 'subscriber'): string => containerName(e.cluster, e[side]);

  return {
    async logicalCopyCapacity(i: { cluster: string; member: string }): Promise<LogicalCopyCapacity> {
      const ct = containerName(i.cluster, i.member);
      const r = JSON.parse(await psqlOn(docker, ct, 'postgres', `SELECT json_build_object(
        'walLevel', current_setting('wal_level'),
        'freeSlots', current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots),
        'freeSenders', current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_stat_replication))`)) as Omit<LogicalCopyCapacity, 'databases'>;
      return { ...r, databases: (await userDatabases(docker, ct)).length };
    },

    /** The superuser's password for the old leader, in a passfile (0600, postgres's) on one new member. */
    async writeCopyPassfile(i: { cluster: string; member: string; publisher: string; generation: number }): Promise<void> {
      const file = passfilePath(i.generation);
      const r = await execIn(docker, containerName(i.cluster, i.member), ['sh', '-c', `umask 077 && cat > ${file}.tmp && mv ${file}.tmp ${file}`],
        pgpassLine(containerName(i.cluster, i.publisher), PG_PORT, SUPERUSER, readClusterSecrets(paths, i.cluster).superuser));
      if (r.exitCode !== 0) throw new Error(`writing ${file} on ${i.member} failed: ${tail(r.output)}`);
    },

    /**
     * Roles (with their SCRAM verifiers, so every password stays) from `pg_dumpall --globals-only`.
     * Roles the new members made themselves (the superuser, replication and rewind users) exist
     * already: those CREATE ROLE fail and the ALTER ROLE after them sets the same attributes.
     * Any other error fails the step.
     */
    async copyRoles(e: CopyEnds): Promise<{ roles: number }> {
      heartbeat('pg_dumpall --globals-only into the new leader');
      const from = publisherConninfo(publisherAddress(e, 'postgres', tls(e.cluster)));
      const r = await execIn(docker, leader(e, 'subscriber'), ['bash', '-c',
        `set -o pipefail; ${pgBinDir(e.to)}/pg_dumpall --globals-only --no-tablespaces -d "$1" | ${pgBinDir(e.to)}/psql -h ${SOCKET_DIR} -d postgres -X -q 2>&1`, 'copy-roles', from]);
      const errors = r.output.split('\n').filter((l) => /ERROR:/.test(l) && !/already exists/.test(l));
      if (r.exitCode !== 0 || errors.length > 0) throw new Error(`copying roles into ${e.subscriber} failed: ${errors.slice(0, 3).join(' | ') || tail(r.output)}`);
      return { roles: Number(await psqlOn(docker, leader(e, 'subscriber'), 'postgres', "SELECT count(*) FROM pg_roles WHERE rolname !~ '^pg_'")) };
    },

    /**
     * Per database, `pg_dump --schema-only` into the new leader: `--clean --if-exists`, so a retry
     * after a partial run starts over; databases other than postgres with `--create` (their owner,
     * encoding, locale and settings), restored from template1. Subscriptions are not carried.
     */
    async copySchema(e: CopyEnds): Promise<{ databases: string[] }> {
      const databases = await userDatabases(docker, leader(e, 'publisher'));
      for (const database of databases) {
        heartbeat(`pg_dump --schema-only ${database} into the new leader`);
        const own = database === 'postgres';
        const from = publisherConninfo(publisherAddress(e, database, tls(e.cluster)));
        const r = await execIn(docker, leader(e, 'subscriber'), ['bash', '-c',
          `set -o pipefail; ${pgBinDir(e.to)}/pg_dump --schema-only --clean --if-exists --no-subscriptions ${own ? '' : '--create'} -d "$1" | ` +
          `${pgBinDir(e.to)}/psql -h ${SOCKET_DIR} -d ${own ? 'postgres' : 'template1'} -X -q -v ON_ERROR_STOP=1 2>&1`, 'copy-schema', from]);
        if (r.exitCode !== 0) throw new Error(`copying the schema of database ${database} into ${e.subscriber} failed: ${tail(r.output)}`);
      }
      return { databases };
    },

    /** Per database: the publication on the old leader, then the subscription on the new one (each made once). */
    async startLogicalCopy(e: CopyEnds): Promise<{ databases: string[] }> {
      const databases = await userDatabases(docker, leader(e, 'publisher'));
      for (const database of databases) {
        heartbeat(`publication and subscription of ${database}`);
        await psqlOn(docker, leader(e, 'publisher'), database, CREATE_PUBLICATION_SQL);
        if (Number(await psqlOn(docker, leader(e, 'subscriber'), database, subscriptionExistsSql(e.generation))) > 0) continue;
        const oid = Number(await psqlOn(docker, leader(e, 'publisher'), 'postgres', `SELECT oid FROM pg_database WHERE datname = ${quoteLiteral(database)}`));
        await psqlOn(docker, leader(e, 'subscriber'), database, createSubscriptionSql(e.generation, publisherAddress(e, database, tls(e.cluster)), oid));
      }
      return { databases };
    },

    /** How far the copy is: tables still in their initial copy, and the largest lag behind the old leader's WAL. */
    async logicalCopyProgress(e: CopyEnds): Promise<CopyProgress> {
      const databases = await userDatabases(docker, leader(e, 'publisher'));
      const at = await psqlOn(docker, leader(e, 'publisher'), 'postgres', CURRENT_LSN_SQL);
      let pendingTables = 0;
      let lagBytes: number | null = 0;
      for (const database of databases) {
        const p = JSON.parse(await psqlOn(docker, leader(e, 'subscriber'), database, subscriptionProgressSql(e.generation))) as { pending: number; lsn: string | null };
        pendingTables += Number(p.pending);
        const lag = replicationLagBytes(at, p.lsn);
        lagBytes = lag === null || lagBytes === null ? null : Math.max(lagBytes, lag);
      }
      return { pendingTables, lagBytes };
    },

    /**
     * Undo the copy on both sides, whatever of it exists: each subscription dropped on the new leader
     * (which drops its slot on the old one) when the new leader runs; then on the old leader each
     * publication, and any slot of this generation left behind (a subscriber gone first), its sender
     * ended first.
     */
    async removeLogicalCopy(i: { cluster: string; publisher: string; subscriber: string | null; generation: number }): Promise<{ slotsDropped: number }> {
      const pub = containerName(i.cluster, i.publisher);
      const databases = await userDatabases(docker, pub);
      if (i.subscriber) {
        const sub = containerName(i.cluster, i.subscriber);
        try {
          for (const database of await userDatabases(docker, sub)) {
            if (Number(await psqlOn(docker, sub, database, subscriptionExistsSql(i.generation))) === 0) continue;
            await psqlOn(docker, sub, database, `DROP SUBSCRIPTION ${quoteIdent(subscriptionName(i.generation))}`);
          }
        } catch {
          // The new leader is gone or down: its slots are dropped on the old leader below.
        }
      }
      for (const database of databases) await psqlOn(docker, pub, database, `DROP PUBLICATION IF EXISTS ${quoteIdent(PUBLICATION)}`);
      const ours = `starts_with(slot_name, ${quoteLiteral(slotName(i.generation, 0).replace(/0$/, ''))})`;
      let slotsDropped = 0;
      // A sender ended lets go of its slot a moment later.
      for (let attempt = 0; attempt < 40; attempt++) {
        await psqlOn(docker, pub, 'postgres', `SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots WHERE ${ours} AND active_pid IS NOT NULL`);
        slotsDropped += Number(await psqlOn(docker, pub, 'postgres', `SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE ${ours} AND NOT active`));
        if (Number(await psqlOn(docker, pub, 'postgres', `SELECT count(*) FROM pg_replication_slots WHERE ${ours}`)) === 0) return { slotsDropped };
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`slots of generation ${i.generation} on ${i.publisher} are still in use after their senders were ended`);
    },
  };
}
