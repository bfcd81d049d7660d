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
import { clusterView, leaderAmong } from '../patroni';
import { heartbeat, pause, throwIfCancelled, warn } from '../heartbeat';
import type { Inventory } from '../hosts/inventory';
import { databaseOid, psqlOn, userDatabases } from './psql';
import {
  SEQUENCES_SQL, STOP_POINT_SQL, copyTarget, parseLsn, quoteIdent, quoteLiteral, setSequencesSql, slotName, subscriptionExistsSql, subscriptionName, type SequenceValue,
} from './logical-copy-sql';
import type { CopyEnds } from './logical-copy';
import { silentMembersProblem } from './silent-members';

/** Sessions that are not the application's: Patroni's own, and this step's. */
const NOT_CLIENTS = "backend_type <> 'client backend' OR pid = pg_backend_pid() OR application_name LIKE 'Patroni%'";

/** How long ending one client session may take before the step goes on (it exits at once unless stuck). */
const TERMINATE_WAIT_MS = 2000;

/** How long transactions already running may go on once writes are stopped, before their sessions are ended. */
const IN_FLIGHT_GRACE_MS = 5000;


/** `f` on every member side by side; one error naming each member it failed on, once all are done. */
async function onEvery<T>(members: string[], f: (member: string) => Promise<T>): Promise<T[]> {
  const settled = await Promise.allSettled(members.map(f));
  const failed = settled.flatMap((r, k) => (r.status === 'rejected' ? [`${members[k]}: ${(r.reason as Error).message}`] : []));
  if (failed.length > 0) throw new Error(failed.join('; '));
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

export function createCutoverSteps(inv: Inventory, paths: Paths) {
  const docker = inv.engine();
  /** The generation's leader now (it may have failed over since the cutover). */
  const generationLeader = async (g: { cluster: string; generation: number; members: string[] }): Promise<string> => {
    const leader = await leaderAmong(inv, g.cluster, g.members);
    if (!leader) throw new Error(`generation ${g.generation} of ${g.cluster} has no leader right now`);
    return leader;
  };
  /**
   * The PostgreSQL members of the member's generation whose containers run (the member first) and
   * those that do not: stopWrites and allowWrites act on each (ALTER SYSTEM is local to a server).
   */
  const generationMembers = async (cluster: string, member: string): Promise<{ running: string[]; stopped: string[] }> => {
    const named = await inv.member(cluster, member);
    if (!named) throw new Error(`${member} is not a member of ${cluster}`);
    const all = (await inv.members(cluster, { kind: 'postgres', generation: named.generation }))
      .sort((a, b) => Number(b.name === member) - Number(a.name === member));
    return { running: all.filter((m) => m.state === 'running').map((m) => m.name), stopped: all.filter((m) => m.state !== 'running').map((m) => m.name) };
  };
  /** default_transaction_read_only set (or reset) on the member and loaded; whether it is in recovery (a replica). */
  const setDefaultReadOnly = async (cluster: string, member: string, on: boolean): Promise<boolean> => {
    const ct = containerName(cluster, member);
    // ALTER SYSTEM writes no WAL: a replica, or a session read-only already, takes it.
    await psqlOn(docker, ct, 'postgres', on ? 'ALTER SYSTEM SET default_transaction_read_only = on' : 'ALTER SYSTEM RESET default_transaction_read_only');
    return (await psqlOn(docker, ct, 'postgres', 'SELECT pg_is_in_recovery() FROM pg_reload_conf()')) === 't';
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
        // A pause the write move gave up on (its deadline) goes no further; the put-back resumes every pooler.
        if (i.pause) throwIfCancelled(`pausing ${p}`);
        try {
          await docker.getContainer(containerName(i.cluster, p)).kill({ signal: i.pause ? 'SIGUSR1' : 'SIGUSR2' });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return { at: Date.now(), poolers };
    },

    /**
     * Writes stop on the member's generation: default_transaction_read_only on every member that
     * runs (ALTER SYSTEM and a reload: every session's next transaction is read-only). ALTER SYSTEM
     * is local to a server, so the replicas get it too: one promoted later (a failover while the
     * upgrade waits for its decision) would otherwise take writes. Transactions already running on
     * the leader get IN_FLIGHT_GRACE_MS to finish, then every client session of every member is
     * ended (a session may have turned read-only off for itself; direct clients reconnect through
     * HAProxy). The leader is the member, or the one member not in recovery if it no longer leads.
     * Returns the leader's WAL insert position (copyTarget): what the copy must reach.
     */
    async stopWrites(i: { cluster: string; member: string }): Promise<{ lsn: string; ended: number }> {
      const { running, stopped } = await generationMembers(i.cluster, i.member);
      if (stopped.length > 0) warn(`${stopped.join(', ')} of ${i.cluster} not running: not made read-only (a member that starts later may take writes if it is promoted)`);
      const answers = await Promise.allSettled(running.map((m) => setDefaultReadOnly(i.cluster, m, true)));
      const named = answers[running.indexOf(i.member)];
      if (named?.status === 'rejected') throw named.reason;
      // Another member whose PostgreSQL does not answer is taken as a stopped one (the same risk if
      // it is promoted later), not as a reason to fail the cutover, unless Patroni says it leads:
      // during a failover the named leader may still answer out of recovery while the promoted
      // one does not, and its writes after the stop point would reach no copy.
      const answering = running.filter((_, k) => answers[k]!.status === 'fulfilled');
      const silent = running.filter((m) => !answering.includes(m));
      if (silent.length > 0) {
        warn(`${silent.join(', ')} of ${i.cluster} did not answer: not made read-only (${answers.flatMap((a) => (a.status === 'rejected' ? [(a.reason as Error).message] : [])).join('; ')})`);
        const problem = silentMembersProblem(i.cluster, silent, await clusterView(inv, i.cluster, running));
        if (problem) throw new Error(problem);
      }
      const primaries = answering.filter((m) => (answers[running.indexOf(m)] as PromiseFulfilledResult<boolean>).value === false);
      const leader = primaries.includes(i.member) ? i.member : primaries.length === 1 ? primaries[0] : undefined;
      if (!leader) throw new Error(`no one leader among ${running.join(', ')} of ${i.cluster} (out of recovery: ${primaries.join(', ') || 'none'}${silent.length > 0 ? `; not answering: ${silent.join(', ')}` : ''}): its last write is unknown`);
      const ct = containerName(i.cluster, leader);
      const deadline = Date.now() + IN_FLIGHT_GRACE_MS;
      while (Date.now() < deadline) {
        const busy = Number(await psqlOn(docker, ct, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE NOT (${NOT_CLIENTS}) AND xact_start IS NOT NULL`));
        if (busy === 0) break;
        heartbeat(`${busy} transactions still running on ${leader}`);
        // Cancellation-aware: the write pause's deadline ends the wait (its step is waited for).
        await pause(50);
      }
      // With a timeout pg_terminate_backend waits for the backend to exit (PostgreSQL 14+): a
      // session inside its COMMIT holds interrupts, and its commit must land before the stop point is read.
      const ended = await onEvery(answering, async (m) =>
        Number(await psqlOn(docker, containerName(i.cluster, m), 'postgres',
          `SELECT count(pg_terminate_backend(pid, ${TERMINATE_WAIT_MS})) FROM pg_stat_activity WHERE NOT (${NOT_CLIENTS})`)));
      return { lsn: copyTarget(await psqlOn(docker, ct, 'postgres', STOP_POINT_SQL)), ended: ended.reduce((a, b) => a + b, 0) };
    },

    /**
     * Writes allowed again on the member's generation (the put-back's and a rollback's old one):
     * read-only reset on every member that runs, as stopWrites set it.
     */
    async allowWrites(i: { cluster: string; member: string }): Promise<void> {
      const { running, stopped } = await generationMembers(i.cluster, i.member);
      await onEvery(running, (m) => setDefaultReadOnly(i.cluster, m, false));
      if (stopped.length > 0) warn(`${stopped.join(', ')} of ${i.cluster} not running: still read-only by default if stopWrites reached it (ALTER SYSTEM RESET default_transaction_read_only once it runs)`);
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
        await pause(100);
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
        // Past the write pause's deadline the step ends here (the workflow waits for it to stop).
        throwIfCancelled(`setting the sequences of ${database}`);
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
