/**
 * A blue/green upgrade's cutover (docs/design/blue-green-upgrade.md, step 7): the poolers paused
 * by signal, the old leader's writes stopped, the copy waited for to reach its last write, the
 * sequences carried over. HAProxy's move is activities/haproxy.ts (serveMembers); which
 * generation serves is activities/generations-file.ts.
 */
import type Docker from 'dockerode';
import type { Paths } from '../../common/paths';
import { containerName } from '../../common/resource-names';
import { writeServingGeneration } from '../generations-file';
import { isNotFound } from '../docker';
import { leaderAmong } from '../patroni';
import { heartbeat } from '../heartbeat';
import type { Inventory } from '../hosts/inventory';
import { databaseOid, psqlOn, userDatabases } from './psql';
import {
  CURRENT_LSN_SQL, SEQUENCES_SQL, parseLsn, quoteIdent, quoteLiteral, setSequencesSql, slotName, subscriptionExistsSql, subscriptionName, type SequenceValue,
} from './logical-copy-sql';
import type { CopyEnds } from './logical-copy';

/** Sessions that are not the application's: Patroni's own, and this step's. */
const NOT_CLIENTS = "backend_type <> 'client backend' OR pid = pg_backend_pid() OR application_name LIKE 'Patroni%'";

/** How long transactions already running may go on once writes are stopped, before their sessions are ended. */
const IN_FLIGHT_GRACE_MS = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createCutoverSteps(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  /** The generation's leader now (it may have failed over since the cutover). */
  const generationLeader = async (g: { cluster: string; generation: number; members: string[] }): Promise<string> => {
    const leader = await leaderAmong(inv, g.cluster, g.members);
    if (!leader) throw new Error(`generation ${g.generation} of ${g.cluster} has no leader right now`);
    return leader;
  };
  return {
    /**
     * PgBouncer's PAUSE (SIGUSR1) or RESUME (SIGUSR2) on every pooler of the cluster (tini
     * forwards both): a paused pooler lets running transactions finish and holds new queries
     * until it resumes, so pooled clients wait instead of failing. Returns when it was sent.
     */
    async signalPoolers(i: { cluster: string; pause: boolean }): Promise<{ at: number; poolers: string[] }> {
      const poolers = await inv.memberNames(i.cluster, { kind: 'pgbouncer', running: true });
      for (const p of poolers) {
        try {
          await docker.getContainer(containerName(i.cluster, p)).kill({ signal: i.pause ? 'SIGUSR1' : 'SIGUSR2' });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return { at: Date.now(), poolers };
    },

    /**
     * Writes stop on the member: default_transaction_read_only (ALTER SYSTEM and a reload: every
     * session's next transaction is read-only); transactions already running get IN_FLIGHT_GRACE_MS
     * to finish, then every client session is ended (direct clients reconnect through HAProxy).
     * Returns its WAL position after the last write: what the copy must reach.
     */
    async stopWrites(i: { cluster: string; member: string }): Promise<{ lsn: string; ended: number }> {
      const ct = containerName(i.cluster, i.member);
      await psqlOn(docker, ct, 'postgres', 'ALTER SYSTEM SET default_transaction_read_only = on');
      await psqlOn(docker, ct, 'postgres', 'SELECT pg_reload_conf()');
      const deadline = Date.now() + IN_FLIGHT_GRACE_MS;
      while (Date.now() < deadline) {
        const busy = Number(await psqlOn(docker, ct, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE NOT (${NOT_CLIENTS}) AND xact_start IS NOT NULL`));
        if (busy === 0) break;
        heartbeat(`${busy} transactions still running on ${i.member}`);
        await sleep(50);
      }
      const ended = Number(await psqlOn(docker, ct, 'postgres', `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE NOT (${NOT_CLIENTS})`));
      return { lsn: await psqlOn(docker, ct, 'postgres', CURRENT_LSN_SQL), ended };
    },

    /** Writes allowed again on the member (a rollback's old leader). */
    async allowWrites(i: { cluster: string; member: string }): Promise<void> {
      const ct = containerName(i.cluster, i.member);
      await psqlOn(docker, ct, 'postgres', 'ALTER SYSTEM RESET default_transaction_read_only');
      await psqlOn(docker, ct, 'postgres', 'SELECT pg_reload_conf()');
    },

    /**
     * Every database's copy has applied the old leader's WAL up to `lsn`: its slot on the old
     * leader confirms it (one query for all of them), or, asked now and then, its subscription
     * reports it. The walsender pings a subscriber that has not confirmed what it was sent, so this
     * follows the last write within a moment.
     */
    async waitForCopyAt(e: CopyEnds & { lsn: string }): Promise<{ waitedMs: number }> {
      const started = Date.now();
      const pub = containerName(e.cluster, e.publisher);
      const sub = containerName(e.cluster, e.subscriber);
      const target = parseLsn(e.lsn);
      const slots = new Map<string, string>();
      for (const database of await userDatabases(docker, pub)) slots.set(database, slotName(e.generation, await databaseOid(docker, pub, database)));
      const behind = new Set(slots.keys());
      for (let round = 0; behind.size > 0; round++) {
        const confirmed = new Map((await psqlOn(docker, pub, 'postgres',
          `SELECT slot_name || ' ' || confirmed_flush_lsn FROM pg_replication_slots WHERE confirmed_flush_lsn IS NOT NULL AND slot_name IN (${[...slots.values()].map(quoteLiteral).join(', ')})`))
          .split('\n').filter((l) => l.includes(' ')).map((l) => l.split(' ') as [string, string]));
        for (const database of [...behind]) {
          const lsn = confirmed.get(slots.get(database)!);
          if (lsn !== undefined && parseLsn(lsn) >= target) behind.delete(database);
        }
        if (behind.size === 0) break;
        if (round % 10 === 9) {
          for (const database of [...behind]) {
            const reported = await psqlOn(docker, sub, database, `SELECT max(latest_end_lsn) FROM pg_stat_subscription WHERE subname = ${quoteLiteral(subscriptionName(e.generation))} AND relid IS NULL`);
            if (reported !== '' && parseLsn(reported) >= target) behind.delete(database);
          }
        }
        heartbeat(`copy of ${[...behind].join(', ')} not yet at ${e.lsn}`);
        await sleep(100);
      }
      return { waitedMs: Date.now() - started };
    },

    /** Each sequence's last value on the old leader, set on the new one (logical replication does not carry sequences). */
    async copySequences(e: CopyEnds): Promise<{ sequences: number }> {
      const pub = containerName(e.cluster, e.publisher);
      const sub = containerName(e.cluster, e.subscriber);
      // Databases side by side: this runs while writes are paused.
      const counts = await Promise.all((await userDatabases(docker, pub)).map(async (database) => {
        const seqs = JSON.parse(await psqlOn(docker, pub, database, SEQUENCES_SQL)) as SequenceValue[];
        await psqlOn(docker, sub, database, setSequencesSql(seqs));
        return seqs.length;
      }));
      return { sequences: counts.reduce((a, b) => a + b, 0) };
    },

    /** The subscriptions stop (kept, not dropped: the old leader is read-only, and a rollback may still want them). */
    async disableSubscriptions(e: { cluster: string; generation: number; members: string[] }): Promise<void> {
      const sub = containerName(e.cluster, await generationLeader(e));
      for (const database of await userDatabases(docker, sub)) {
        await psqlOn(docker, sub, database, `DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_subscription WHERE subname = ${quoteLiteral(subscriptionName(e.generation))} AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
          THEN ALTER SUBSCRIPTION ${quoteIdent(subscriptionName(e.generation))} DISABLE; END IF; END $$`);
      }
    },

    /**
     * `upgrade finish`: the subscriptions go without reaching the publisher (slot_name NONE). The old
     * leader is read-only (it would refuse to drop anything) and about to go, slots and all.
     */
    async dropSubscriptions(e: { cluster: string; generation: number; members: string[] }): Promise<void> {
      const sub = containerName(e.cluster, await generationLeader(e));
      const name = quoteIdent(subscriptionName(e.generation));
      for (const database of await userDatabases(docker, sub)) {
        if (Number(await psqlOn(docker, sub, database, subscriptionExistsSql(e.generation))) === 0) continue;
        // ALTER SUBSCRIPTION ... SET (slot_name) needs the subscription disabled; DROP then leaves the publisher alone.
        await psqlOn(docker, sub, database, `ALTER SUBSCRIPTION ${name} DISABLE`);
        await psqlOn(docker, sub, database, `ALTER SUBSCRIPTION ${name} SET (slot_name = NONE)`);
        await psqlOn(docker, sub, database, `DROP SUBSCRIPTION ${name}`);
      }
    },

    /** Which generation HAProxy, the poolers' backends, status, healing and backups follow from now on. */
    async setServingGeneration(i: { cluster: string; generation: number }): Promise<void> {
      writeServingGeneration(paths, i.cluster, i.generation);
    },
  };
}
