/**
 * A member's container re-created on the current image, its data volume kept (`cluster rebuild`,
 * `cluster resize`), once: the workflow records every member's container id before the roll, and a
 * retried attempt (a worker killed mid-step) that finds a container other than the recorded one,
 * on the image the tag names now, knows the re-creation happened and only makes sure it runs.
 */
import type { Inventory } from './hosts/inventory';
import type { Paths } from '../common/paths';
import { rebuildStepDecision, type MemberContainer, type RebuildSnapshot } from '../common/cluster-rebuild';
import { versionOf } from '../common/postgres-version';
import { describeCluster } from './cluster';
import { ensureContainerRunning, isNotFound, stopAndRemoveContainer } from './docker';
import { ErrorTypes, finalError } from './errors';
import { restartSnapshotOf } from './member-restart';
import { memberImage } from './member-image';
import { POSTGRES_STOP_TIMEOUT_SEC, postgresContainerWanted, type PostgresMemberInput } from './patroni';
import type Docker from 'dockerode';

export interface RebuildMemberInput {
  /** What the member is re-created as (the spec with its size, its tags and direct port). */
  member: PostgresMemberInput;
  /** Its container id recorded before the roll. */
  containerBefore: string;
}

export interface RebuildMemberResult {
  /** re-created: this attempt made the new container; already re-created: an earlier attempt did. */
  outcome: 're-created' | 'already re-created';
  container: string;
  image: string;
}

/** The image's id, or a final refusal naming what is missing. */
async function imageId(docker: Docker, image: string): Promise<string> {
  try {
    return (await docker.getImage(image).inspect()).Id;
  } catch (err) {
    if (isNotFound(err)) throw finalError(ErrorTypes.MemberRefused, `image ${image} is missing: run \`dbaas dev up\` to build it`);
    throw err;
  }
}

async function containerNow(docker: Docker, name: string): Promise<{ id: string; image: string } | undefined> {
  try {
    const c = await docker.getContainer(name).inspect();
    return { id: c.Id, image: c.Image };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function createMemberRebuildActivities(inv: Inventory, paths: Paths) {
  return {
    /** The restart's snapshot, the settings the members are made with, and each member's container now. */
    async rebuildSnapshot(cluster: string): Promise<RebuildSnapshot> {
      const desc = await describeCluster(inv, cluster);
      // Refused before anything changes when there is no image to re-create the members on.
      await imageId(inv.engine(), memberImage(versionOf(desc.settings)));
      const containers: Record<string, MemberContainer> = {};
      for (const m of await inv.members(cluster, { kind: 'postgres' })) {
        const c = await inv.engine(m.host).getContainer(m.container).inspect();
        containers[m.name] = { id: c.Id, image: c.Image, directPort: m.portLabels.direct ?? null };
      }
      return { restart: await restartSnapshotOf(inv, desc), settings: desc.settings, containers };
    },

    /**
     * Stop the recorded container gracefully (Patroni shuts PostgreSQL down and, on a leader,
     * releases its key), remove it and create the member anew on the same data volume; or, when an
     * earlier attempt did, only start what it made.
     */
    async rebuildMember(i: RebuildMemberInput): Promise<RebuildMemberResult> {
      const docker = inv.engine();
      const wanted = await postgresContainerWanted(docker, paths, i.member);
      const image = await imageId(docker, wanted.create.Image as string);
      const now = await containerNow(docker, wanted.name);
      const decision = rebuildStepDecision(now, i.containerBefore, image);
      if (decision === 'replace' && now) await stopAndRemoveContainer(docker, now.id, POSTGRES_STOP_TIMEOUT_SEC);
      const made = await ensureContainerRunning(docker, wanted);
      return { outcome: decision === 'done' ? 'already re-created' : 're-created', container: made.id, image };
    },
  };
}
