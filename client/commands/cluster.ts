/** `dbaas cluster create|list|status|delete`: start workflows, follow them, print. */
import { isS3Request, type RepositoryRequest } from '../../common/repository';
import { DEFAULT_POSTGRES_VERSION, type PostgresVersion } from '../../common/postgres-version';
import { table } from '../table';
import { workflowIds } from '../../common/workflow-ids';
import { resolvePaths } from '../../common/paths';
import { SpecError, etcdMemberNames, memberNames, validateSpec, type ConnectionInfo, type CreateClusterInput } from '../../common/spec';
import { layoutCluster } from '../../common/placement';
import { MULTI_HOST_CONNECT_TIMEOUT_S } from '../connection-target';

/** A host that is down must not hold a client for TCP's minutes before it tries the next front door. */
const MULTI_HOST_QUERY = `connect_timeout=${MULTI_HOST_CONNECT_TIMEOUT_S}`;
import { placementHosts } from '../../activities/hosts/placement-hosts';
import type { createCluster, deleteCluster, DeleteClusterResult } from '../../workflows';
import { clusterNames, clusterState, clusterStatus, deletedClusters, notLiveLine } from '../cluster-info';
import { clusterVolumes, unreachableDeleteLine } from '../../activities/cluster';
import { LOCAL_HOST } from '../../common/inventory';
import { clusterSecretsExist } from '../../activities/secrets';
import { readRepositoryInfo } from '../../activities/backup-repository';
import { deletedAt, keptDataVersion as keptDataVersionOf } from '../../activities/deleted-clusters';
import { isRepositoryVolume, keptDataLeftLines, keptDataProblem, keptGenerationsLine, keptDataVersion, keptRepositoryProblem, type KeptAfterDelete } from '../../common/kept-data';
import { servingGeneration } from '../../activities/generations-file';
import { connectInventory } from '../connections';
import { UsageError } from '../errors';
import { parseDurationS } from '../durations';
import { confirmByName } from '../confirm';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';
import { repositoryRequestFrom, repositoryTypeFrom, s3LocationFrom, type S3Options } from '../s3-options';
import { discardStagedS3Credentials } from '../../activities/s3-credentials';
import { cpusProblemOnEngine } from './cluster-rebuild';
import { metricsNotRunningLine } from '../../common/metrics-state';


export function printConnectionInfo(info: ConnectionInfo): void {
  // Several front doors: a libpq multi-host URI (rw asks for the writable server, as HAProxy already routes it).
  const hosts = info.hosts ?? [info.host];
  const uri = (port: number, rw = false): string =>
    `postgresql://${info.user}@${hosts.map((h) => `${h}:${port}`).join(',')}/${info.database}${hosts.length > 1 ? `?${MULTI_HOST_QUERY}${rw ? '&target_session_attrs=read-write' : ''}` : ''}`;
  console.log(`cluster ${info.cluster}: leader ${info.leader}, members ${info.members.join(', ')}`);
  console.log(`  read-write: ${uri(info.ports.rw, true)}`);
  console.log(`  read-only:  ${uri(info.ports.ro)}`);
  console.log(`  pooled:     ${uri(info.ports.pooledRw, true)} (rw), ${uri(info.ports.pooledRo)} (ro), PgBouncer transaction pooling`);
  console.log(`  stats:      ${info.statsUrl} (Prometheus: ${info.statsUrl}metrics)`);
  console.log(`  psql:       \`npx dbaas psql ${info.cluster}\`; \`npx dbaas connect ${info.cluster}\` prints a URI with credentials (\`--superuser\`: as postgres)`);
  if (info.keptDataLeft) for (const line of keptDataLeftLines(info.cluster, info.keptDataLeft)) console.log(line);
  if (info.metricsProblem !== undefined) console.log(`  ${metricsNotRunningLine(info.cluster, info.metricsProblem)}`);
}

export interface CreateOptions extends S3Options {
  replicas: number;
  sync: boolean;
  /** synchronous_mode_strict; implies sync. */
  syncStrict?: boolean;
  profile: CreateClusterInput['profile'];
  etcd: 1 | 3;
  detach: boolean;
  keepOnFailure: boolean;
  /** false with --no-backups. */
  backups: boolean;
  zoneSpread: boolean;
  allowColocate: boolean;
  /** `--replace-after` as typed (5m, 90s, 0). */
  replaceAfter?: string;
  version?: PostgresVersion;
  /** `--cpus`, `--memory` as parsed (CPUs, MiB): the members' size. */
  cpus?: number;
  memory?: number;
}

export async function createClusterCommand(name: string, o: CreateOptions): Promise<void> {
  const input: CreateClusterInput = {
    name, replicas: o.replicas, sync: o.sync || (o.syncStrict ?? false), syncStrict: o.syncStrict ?? false, profile: o.profile, etcdMembers: o.etcd, keepOnFailure: o.keepOnFailure,
    ...(o.backups === false ? { backups: false } : {}),
    ...(o.zoneSpread ? { zoneSpread: true } : {}),
    ...(o.allowColocate ? { allowColocate: true } : {}),
    ...(o.replaceAfter !== undefined ? { replaceAfterS: parseDurationS('--replace-after', o.replaceAfter) } : {}),
    postgresVersion: o.version ?? DEFAULT_POSTGRES_VERSION,
    ...(o.cpus !== undefined || o.memory !== undefined
      ? { size: { ...(o.cpus !== undefined ? { cpus: o.cpus } : {}), ...(o.memory !== undefined ? { memoryMiB: o.memory } : {}) } }
      : {}),
  };
  try {
    validateSpec(input);
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(err.message);
    throw err;
  }
  if (o.backupTo !== undefined && o.backups === false) throw new UsageError('--backup-to and --no-backups contradict each other');
  const paths = resolvePaths();
  // Bad --backup-to and --s3-* options: exit 2 also when this only attaches to a running create.
  s3LocationFrom(o);
  const inv = await connectInventory();
  let repository: RepositoryRequest | undefined;
  const gateway = await connectGateway();
  let started = false;
  try {
    const { run: handle, startedHere: startedNow } = await startOrAttachRun<typeof createCluster>(gateway, 'createCluster', workflowIds.createCluster(name), name, [input], { running: `cluster ${name} is being created`, starting: `creating cluster ${name}` }, async () => {
      if ((await clusterState(inv, name)).state === 'live') throw new UsageError(`cluster ${name} already exists`);
      const cpus = await cpusProblemOnEngine(inv, o.cpus);
      if (cpus) throw new UsageError(cpus);
      // The workflow checks again; here a refusal is one line and exit 2 before anything starts.
      // A create on data kept by `delete --keep-data` archives into the repository it kept.
      const kept = await clusterVolumes(inv, paths, name);
      const keptRepository = kept.some(isRepositoryVolume);
      const keptData = { volumes: kept, secrets: clusterSecretsExist(paths, name), serving: servingGeneration(paths, name) };
      const problem = keptDataProblem(input, keptData) ?? (keptRepository && o.backupTo !== undefined ? keptRepositoryProblem(name) : undefined);
      if (problem) throw new UsageError(problem);
      if (kept.some((v) => v.role === 'postgres')) {
        // The kept etcd keeps the DCS parameters of before: a size's would not reach them.
        if (input.size) throw new UsageError(`--cpus and --memory do not apply to data kept from before: create ${name} without them, then \`dbaas cluster resize ${name}\``);
        const v = keptDataVersion(name, keptDataVersionOf(paths, name), o.version);
        if ('problem' in v) throw new UsageError(v.problem);
        input.postgresVersion = v.version;
      }
      // Not enough hosts for the spread (and what is not built yet on added hosts): refused before anything starts.
      const layout = layoutCluster({
        postgres: memberNames(input.replicas), etcd: etcdMemberNames(input.etcdMembers), zoneSpread: input.zoneSpread, allowColocate: input.allowColocate,
        backups: o.backups === false ? null : repositoryTypeFrom(o), restore: false, keptData: kept.length > 0,
      }, await placementHosts(inv, paths));
      if ('problem' in layout) throw new UsageError(layout.problem);
      // S3 credentials are staged for the worker (never in Temporal); discarded below if the workflow does not start.
      repository = o.backups === false || keptRepository ? undefined : repositoryRequestFrom(o, paths, process.env);
      if (repository) input.backupTo = repository;
    });
    started = startedNow;
    if (o.detach) return;
    if (process.stdout.isTTY) console.log('(Ctrl-C stops following; the workflow carries on)');
    const info = await followRun<ConnectionInfo>(gateway, handle, `create ${name}`);
    printConnectionInfo(info);
  } finally {
    // Staged credentials no workflow will adopt go at once.
    if (repository && isS3Request(repository) && !started) discardStagedS3Credentials(paths, repository.credentialsRef);
    await gateway.close();
  }
}

export interface DeleteOptions {
  keepData: boolean;
  purgeBackups: boolean;
  yes: boolean;
}

export async function deleteClusterCommand(name: string, o: DeleteOptions): Promise<void> {
  await removeClusterOrBackups(name, o, 'delete');
}

/** `cluster delete` on a deleted cluster: what it may still remove, or one line on why there is nothing. */
function deleteOfDeletedProblem(name: string, o: DeleteOptions, kept: KeptAfterDelete): string | undefined {
  if ((o.purgeBackups && kept.backups) || (kept.data && !o.keepData)) return undefined;
  return `${notLiveLine(name, kept)}; nothing to delete${kept.backups ? ` (\`dbaas backup purge ${name} --yes\` removes the backups)` : ''}`;
}

/** `backup purge`: only a deleted cluster's kept repository (a live cluster's members use theirs). */
function purgeProblem(name: string, state: 'live' | 'deleted', kept: KeptAfterDelete): string | undefined {
  if (state === 'live') return `cluster ${name} is not deleted; \`dbaas cluster delete ${name} --purge-backups\` deletes it with its backups`;
  if (!kept.backups) return `cluster ${name} has no kept backups`;
  return undefined;
}

/**
 * `cluster delete` and `backup purge` both run DeleteCluster: on a live cluster it removes it,
 * on a deleted one what it kept (the repository with purgeBackups; the data unless keepData).
 */
export async function removeClusterOrBackups(name: string, o: DeleteOptions, verb: 'delete' | 'purge'): Promise<void> {
  const inv = await connectInventory();
  const s = await clusterState(inv, name);
  const state = s.state;
  if (state === 'unknown') throw new UsageError(`no cluster named ${name}`);
  if (state === 'live') {
    const { members, unreachable } = await inv.membersAndUnreachable(name);
    if (unreachable.length > 0 && !members.some((m) => m.host === LOCAL_HOST)) throw new UsageError(unreachableDeleteLine(name, unreachable));
  }
  // A purge keeps data that --keep-data kept: it removes backups only.
  const keepData = verb === 'purge' ? s.data : o.keepData;
  const input = { name, keepData, ...(o.purgeBackups ? { purgeBackups: true } : {}) };
  const what = verb === 'purge' ? 'remove the kept backups of' : keepData ? 'delete (keeping its data) cluster' : o.purgeBackups ? 'delete (with its backups) cluster' : 'delete cluster';
  const gateway = await connectGateway();
  try {
    const { run: handle, startedHere: startedNow } = await startOrAttachRun<typeof deleteCluster>(gateway, 'deleteCluster', workflowIds.deleteCluster(name), name, [input], { running: `cluster ${name} is being deleted`, starting: verb === 'purge' ? `removing the kept backups of ${name}` : `deleting cluster ${name}` }, async () => {
      const problem = verb === 'purge' ? purgeProblem(name, state, s) : state === 'deleted' ? deleteOfDeletedProblem(name, o, s) : undefined;
      if (problem) throw new UsageError(problem);
      await confirmByName(what, name, o.yes);
    });
    const r = await followRun<DeleteClusterResult>(gateway, handle, `${verb} ${name}`);
    console.log(verb === 'purge'
      ? `backups of ${name} removed`
      : `cluster ${name} deleted: ${r.containers} containers, ${r.networks} networks, ${r.volumes} volumes removed` +
        (r.keptVolumes > 0 ? `; ${r.keptVolumes} data volumes kept` : '') +
        (r.keptBackups ? `; backups kept (\`dbaas restore ${name} --into NEW --latest\` restores them, \`dbaas backup purge ${name} --yes\` removes them)` : '') +
        (r.keptBackups && !r.walArchived && s.state === 'live' ? '\nwarning: no leader archived the last WAL before the delete; a restore reaches the last WAL segment archived before it' : ''));
    if (verb === 'delete' && r.keptVolumes > 0) {
      const paths = resolvePaths();
      const line = keptGenerationsLine(name, await clusterVolumes(inv, paths, name), servingGeneration(paths, name));
      if (line) console.log(line);
    }
  } finally {
    await gateway.close();
  }
}

export async function listCommand(o: { json: boolean; deleted: boolean }): Promise<void> {
  if (o.deleted) return listDeletedCommand(o);
  const inv = await connectInventory();
  const paths = resolvePaths();
  const all = await Promise.all((await clusterNames(inv)).map((n) => clusterStatus(inv, paths, n)));
  if (o.json) {
    console.log(JSON.stringify(all.map((s) => ({
      name: s.name, leader: s.leader, members: s.members.length,
      running: s.members.filter((m) => m.container.state === 'running').length,
      endpoints: s.endpoints,
    })), null, 2));
    return;
  }
  if (all.length === 0) {
    console.log('no clusters');
    return;
  }
  const t = table(['cluster', 'leader', 'members', 'rw', 'ro', 'created']);
  for (const s of all) {
    const running = s.members.filter((m) => m.container.state === 'running').length;
    t.push([s.name, s.leader ?? 'none', `${running}/${s.members.length} running`, s.endpoints?.rw.port ?? '', s.endpoints?.ro.port ?? '', s.members[0]?.container.created ?? '']);
  }
  console.log(t.toString());
}


/** A deleted cluster as `cluster list --deleted` shows it. */
interface DeletedClusterView {
  name: string;
  deletedAt: string | null;
  keptData: boolean;
  keptBackups: boolean;
  backups: number;
  newestBackup: string | null;
  /** The newest moment a restore can reach (the end of the newest backup; WAL archived after it may reach further). */
  restorableUntil: string | null;
  repositoryBytes: number;
  /** When the repository could not be read: why. */
  problem?: string;
}

async function listDeletedCommand(o: { json: boolean }): Promise<void> {
  const inv = await connectInventory();
  const paths = resolvePaths();
  const views: DeletedClusterView[] = await Promise.all((await deletedClusters(inv)).map(async (d) => {
    const view: DeletedClusterView = {
      name: d.name, deletedAt: deletedAt(paths, d.name) ?? null, keptData: d.data, keptBackups: d.backups,
      backups: 0, newestBackup: null, restorableUntil: null, repositoryBytes: 0,
    };
    if (!d.backups) return view;
    try {
      const usable = (await readRepositoryInfo(inv.engine(), resolvePaths(), d.name)).backups.filter((b) => !b.error);
      const newest = usable[usable.length - 1];
      return {
        ...view, backups: usable.length, newestBackup: newest?.label ?? null, restorableUntil: newest?.stoppedAt ?? null,
        repositoryBytes: usable.reduce((sum, b) => sum + b.repositoryBytes, 0),
      };
    } catch (err) {
      return { ...view, problem: (err as Error).message };
    }
  }));
  if (o.json) {
    console.log(JSON.stringify(views, null, 2));
    return;
  }
  if (views.length === 0) {
    console.log('no deleted clusters with kept backups or data');
    return;
  }
  const t = table(['cluster', 'deleted (UTC)', 'kept', 'backups', 'newest backup', 'repository']);
  for (const v of views) {
    const kept = [v.keptBackups ? 'backups' : '', v.keptData ? 'data' : ''].filter(Boolean).join(', ');
    t.push([v.name, v.deletedAt?.replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? 'unknown', kept, v.problem ? `unreadable: ${v.problem}` : v.backups,
      v.newestBackup ?? '', v.keptBackups ? `${(v.repositoryBytes / 1024 / 1024).toFixed(1)} MB` : '']);
  }
  console.log(t.toString());
  console.log('restore: `dbaas restore NAME --into NEW --latest`   remove backups: `dbaas backup purge NAME --yes`');
}
