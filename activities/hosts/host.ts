/**
 * A host: one Docker engine that runs members. The inventory (./inventory.ts) asks every host it
 * knows and merges their answers; each kind of host is one file beside this one, as Patroni has one
 * file per DCS backend. Today: the engine of the worker's own machine (./local-engine.ts), and the
 * same engine read by the CLI without dockerode (./read-only-engine.ts).
 */
import type Docker from 'dockerode';
import type { VolumeUse } from '../../common/volume-use';
import type { ClusterNetwork, Endpoint, HelperContainer, HostName, Member, HostVolume } from '../../common/inventory';
import type { ExecResult } from './engine-api';

export type { ClusterNetwork, HelperContainer };

export interface ContainerExit {
  code: number;
  /** Docker's State.FinishedAt (ISO): identifies one particular exit. */
  finishedAt: string;
}

/** What a host answers to reads: all the CLI's `connect` and `cluster status` ask of one. */
export interface HostReads {
  readonly name: HostName;
  /**
   * Where clients reach what this host publishes (HAProxy, the poolers, members' ports): an added
   * host's address; undefined for this machine's engine (127.0.0.1).
   */
  readonly address?: string;
  /** Containers labelled with a cluster on this host (every cluster's, or one cluster's): its members and helpers. */
  containers(cluster?: string): Promise<{ members: Member[]; helpers: HelperContainer[] }>;
  /** Volumes labelled with a cluster: every cluster's, or one cluster's. */
  volumes(cluster?: string): Promise<HostVolume[]>;
  /** Networks labelled with a cluster: every cluster's, or one cluster's. */
  networks(cluster?: string): Promise<ClusterNetwork[]>;
  /**
   * Where this process opens a running member's service port (common/service-ports.ts), or
   * undefined when it cannot.
   */
  endpoint(member: Member, port: number): Endpoint | undefined;
  /** A command in a running container, its output and exit code (the CLI's: df, pgbackrest info). */
  exec(container: string, cmd: string[]): Promise<ExecResult>;
  /**
   * How full the file system under a running container's mount is, read on this machine (statfs
   * of the mount's source) without running anything in the container; undefined where this
   * process cannot see the engine's files (an engine elsewhere), and then `df` in the container.
   */
  mountUse?(container: string, destination: string): Promise<VolumeUse | undefined>;
}

export interface Host extends HostReads {
  /** Exit code and time of a container's last run (Docker's zero time when it never exited); undefined when it is gone. */
  lastExit(container: string): Promise<ContainerExit | undefined>;
  /**
   * The engine, for the steps that make, change and remove containers. They move onto this
   * interface one by one; until then they take the engine from here.
   */
  readonly engine: Docker;
}
