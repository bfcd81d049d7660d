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
import type { Paths } from '../../common/paths';
import { clusterHasTls } from '../cluster-tls';
import { clusterAccess } from '../cluster-access';
import { patchDcsConfigAt } from '../dcs-config';
import { ErrorTypes, finalError } from '../errors';
import type { Inventory } from '../hosts/inventory';
import { leaderAmong, memberApi } from '../patroni';
import { readClusterSecrets } from '../secrets';
import { PG_PORT } from '../../common/service-ports';
import { SUPERUSER } from '../../common/service-users';
import { DATA_ROOT, MEMBER_TLS, SOCKET_DIR } from '../../common/render/patroni';
import { containerName } from '../../common/resource-names';
import { pgBinDir, type PostgresVersion } from '../../common/postgres-version';
import type { LogicalCopyCapacity } from '../../common/logical-replication';
import { execIn } from '../docker';
import { heartbeat } from '../heartbeat';
import { databaseOid, psqlOn, userDatabases } from './psql';
import {
  CREATE_PUBLICATION_SQL, CURRENT_LSN_SQL, PUBLICATION, createSubscriptionSql, publisherConninfo, quoteIdent, quoteLiteral,
  parseLsn, replicationLagBytes, slotName, slotPrefix, subscriptionExistsSql, subscriptionName, subscriptionProgressSql, type PublisherAddress,
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
  /** The least position any database's subscription applied (null until one reported). */
  appliedLsn: string | null;
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

/**
 * The last lines of a failed command's output. psql may echo the failing statement (`LINE 1:
 * ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'`): lines that could carry a verifier are left out.
 */
const tail = (output: string): string => output.trim().split('\n').filter((l) => !/PASSWORD|SCRAM-SHA-256\$|^LINE \d+:/i.test(l)).slice(-3).join(' | ');

/** The slots Patroni leaves alone while a copy lasts: logical ones of the built-in output plugin (ours and their table-sync ones). */
const COPY_SLOTS = { type: 'logical', plugin: 'pgoutput' };

export function createLogicalCopySteps(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  const tls = (cluster: string): boolean => clusterHasTls(paths, cluster);
  /** The member Patroni reports as leader among `members` (one generation's), if any answers and one leads. */
  const leaderOf = (cluster: string, members: string[]): Promise<string | undefined> => leaderAmong(inv, cluster, members);
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
      if (r.exitCode !== 0 || errors.length > 0) throw new Error(`copying roles into ${e.subscriber} failed: ${tail(errors.join('\n')) || tail(r.output)}`);
      return { roles: Number(await psqlOn(docker, leader(e, 'subscriber'), 'postgres', "SELECT count(*) FROM pg_roles WHERE rolname !~ '^pg_'")) };
    },

    /**
     * Per database, `pg_dump --schema-only` into the new leader: `--clean --if-exists`, so a retry
     * after a partial run starts over; databases other than postgres with `--create` (their owner,
     * encoding, locale and settings), restored from template1. Subscriptions are not carried.
     */
    async copySchema(e: CopyEnds): Promise<{ databases: string[] }> {
      // An earlier attempt's pg_dump | psql may still run (a worker killed does not end its exec):
      // its sessions on the new leader (ours alone: nothing else connects to it yet) end first.
      await psqlOn(docker, leader(e, 'subscriber'), 'postgres',
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name NOT LIKE 'Patroni%'");
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
        const oid = await databaseOid(docker, leader(e, 'publisher'), database);
        // A CREATE SUBSCRIPTION cut short after it made its slot leaves the slot without a subscription.
        await psqlOn(docker, leader(e, 'publisher'), 'postgres',
          `SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE slot_name = ${quoteLiteral(slotName(e.generation, oid))} AND NOT active`);
        await psqlOn(docker, leader(e, 'subscriber'), database, createSubscriptionSql(e.generation, publisherAddress(e, database, tls(e.cluster)), oid));
      }
      return { databases };
    },

    /**
     * How far the copy is: tables still in their initial copy, the largest lag behind the old
     * leader's WAL, and the least position applied (what moves while the copy goes on). Fails for
     * good when the copy cannot go on: the old leader is no longer primary (logical slots do not
     * follow a failover), or a database's slot is gone.
     */
    async logicalCopyProgress(e: CopyEnds): Promise<CopyProgress> {
      const pub = leader(e, 'publisher');
      if ((await psqlOn(docker, pub, 'postgres', 'SELECT pg_is_in_recovery()')) === 't') {
        throw finalError(ErrorTypes.CopyBroken, `${e.publisher} is no longer the leader of ${e.cluster} (it failed over during the copy, and logical slots do not follow a failover): run the upgrade again`);
      }
      const databases = await userDatabases(docker, pub);
      const at = await psqlOn(docker, pub, 'postgres', CURRENT_LSN_SQL);
      let pendingTables = 0;
      let lagBytes: number | null = 0;
      let appliedLsn: string | null = null;
      for (const database of databases) {
        const oid = await databaseOid(docker, pub, database);
        if (Number(await psqlOn(docker, pub, 'postgres', `SELECT count(*) FROM pg_replication_slots WHERE slot_name = ${quoteLiteral(slotName(e.generation, oid))}`)) === 0) {
          throw finalError(ErrorTypes.CopyBroken, `the copy's slot for database ${database} is gone from ${e.publisher}: run the upgrade again`);
        }
        const p = JSON.parse(await psqlOn(docker, leader(e, 'subscriber'), database, subscriptionProgressSql(e.generation))) as { pending: number; lsn: string | null };
        pendingTables += Number(p.pending);
        const lag = replicationLagBytes(at, p.lsn);
        lagBytes = lag === null || lagBytes === null ? null : Math.max(lagBytes, lag);
        if (p.lsn !== null && (appliedLsn === null || parseLsn(p.lsn) < parseLsn(appliedLsn))) appliedLsn = p.lsn;
      }
      return { pendingTables, lagBytes, appliedLsn };
    },

    /**
     * Patroni drops replication slots it does not know whenever it reloads its slots (a member
     * joins or leaves, a restart, a promotion): the copy's slots and its table-sync slots would go.
     * While the copy lasts, the serving generation's Patroni ignores logical pgoutput slots.
     */
    async keepCopySlots(i: { cluster: string; keep: boolean }): Promise<void> {
      const access = clusterAccess(paths, i.cluster);
      let last: unknown = new Error(`no Patroni API of ${i.cluster} answers`);
      for (const m of await inv.memberNames(i.cluster, { kind: 'postgres', running: true })) {
        const api = await memberApi(inv, i.cluster, m);
        if (!api) continue;
        try {
          await patchDcsConfigAt(api, access, { ignore_slots: i.keep ? [COPY_SLOTS] : null });
          return;
        } catch (err) {
          last = err;
        }
      }
      throw last;
    },

    /**
     * Undo the copy on both sides, whatever of it exists, wherever the leaders are now (either
     * side may have failed over): each subscription dropped on the new generation's leader (which
     * drops its slot on the old one) when it answers; then on the old generation's leader each
     * publication, the copy's slots and the new generation's table-sync slots left behind (their
     * senders ended first). The publication is dropped on whichever member leads: catalogs replicate.
     */
    async removeLogicalCopy(i: { cluster: string; generation: number; newMembers: string[] }): Promise<{ slotsDropped: number }> {
      // Before the cutover or after a rollback: the old generation serves (`finish` drops the subscriptions alone).
      const oldLeader = await leaderOf(i.cluster, await inv.memberNames(i.cluster, { kind: 'postgres', running: true }));
      if (!oldLeader) throw new Error(`${i.cluster}'s serving members have no leader now: the copy's publications and slots cannot be dropped yet`);
      const pub = containerName(i.cluster, oldLeader);
      let newSystemId: string | null = null;
      const newLeader = await leaderOf(i.cluster, i.newMembers).catch(() => undefined);
      if (newLeader) {
        const sub = containerName(i.cluster, newLeader);
        try {
          newSystemId = await psqlOn(docker, sub, 'postgres', 'SELECT system_identifier FROM pg_control_system()');
          for (const database of await userDatabases(docker, sub)) {
            if (Number(await psqlOn(docker, sub, database, subscriptionExistsSql(i.generation))) === 0) continue;
            await psqlOn(docker, sub, database, `DROP SUBSCRIPTION ${quoteIdent(subscriptionName(i.generation))}`);
          }
        } catch {
          // The new leader is down: the slots are dropped on the old leader below.
        }
      }
      for (const database of await userDatabases(docker, pub)) await psqlOn(docker, pub, database, `DROP PUBLICATION IF EXISTS ${quoteIdent(PUBLICATION)}`);
      const ours = `(starts_with(slot_name, ${quoteLiteral(slotPrefix(i.generation))})` +
        (newSystemId ? ` OR slot_name ~ ${quoteLiteral(`^pg_[0-9]+_sync_[0-9]+_${newSystemId}$`)})` : ')');
      let slotsDropped = 0;
      // A sender ended lets go of its slot a moment later.
      for (let attempt = 0; attempt < 40; attempt++) {
        await psqlOn(docker, pub, 'postgres', `SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots WHERE ${ours} AND active_pid IS NOT NULL`);
        slotsDropped += Number(await psqlOn(docker, pub, 'postgres', `SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE ${ours} AND NOT active`));
        if (Number(await psqlOn(docker, pub, 'postgres', `SELECT count(*) FROM pg_replication_slots WHERE ${ours}`)) === 0) return { slotsDropped };
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`slots of generation ${i.generation} on ${oldLeader} are still in use after their senders were ended`);
    },
  };
}
