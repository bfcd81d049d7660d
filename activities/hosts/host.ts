/**
 * A host: one Docker engine that runs members. The inventory (./inventory.ts) asks every host it
 * knows and merges their answers; each kind of host is one file beside this one, as Patroni has one
 * file per DCS backend. Today: the engine of the worker's own machine (./local-engine.ts).
 */
import type Docker from 'dockerode';
import type { Endpoint, HostName, Member, HostVolume } from '../../common/inventory';

export interface ClusterNetwork {
  host: HostName;
  name: string;
  cluster: string;
}

export interface ContainerExit {
  code: number;
  /** Docker's State.FinishedAt (ISO): identifies one particular exit. */
  finishedAt: string;
}

/** A container labelled with a cluster that is not one of its members (a restore helper, a copy of its repository). */
export interface HelperContainer {
  host: HostName;
  cluster: string;
  container: string;
  role: string;
}

export interface Host {
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
  /** Exit code and time of a container's last run (Docker's zero time when it never exited); undefined when it is gone. */
  lastExit(container: string): Promise<ContainerExit | undefined>;
  /**
   * Where this process opens a running member's service port (common/service-ports.ts), or
   * undefined when it cannot.
   */
  endpoint(member: Member, port: number): Endpoint | undefined;
  /**
   * The engine, for the steps that make, change and remove containers. They move onto this
   * interface one by one; until then they take the engine from here.
   */
  readonly engine: Docker;
}
