/**
 * Host port allocation. A registry file (DBAAS_HOME/ports.json, under a file lock) maps cluster
 * → block base, so concurrent CreateCluster runs never pick the same block; ports published by
 * existing dbaas containers and ports already bound on 127.0.0.1 are skipped too.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type Docker from 'dockerode';
import * as lockfile from 'proper-lockfile';
import type { Paths } from '../common/paths';
import { DEFAULT_PORT_BASE, PORT_BLOCK_SIZE, inRange, parsePortRange, pickFreeBlock, portsFromBase, type PortRange } from '../common/ports';
import type { ClusterPorts } from '../common/spec';
import { LABEL_CLUSTER, LABEL_PORT_PREFIX } from '../common/names';
import { ErrorTypes, finalError } from './errors';

interface Registry {
  clusters: Record<string, number>;
}

function readRegistry(file: string): Registry {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Registry;
  } catch {
    return { clusters: {} };
  }
}

function writeRegistry(file: string, r: Registry): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(r, null, 2));
  fs.renameSync(tmp, file);
}

async function withRegistry<T>(paths: Paths, fn: (r: Registry) => Promise<T> | T): Promise<T> {
  fs.mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(paths.portRegistry)) writeRegistry(paths.portRegistry, { clusters: {} });
  const release = await lockfile.lock(paths.portRegistry, { retries: { retries: 20, minTimeout: 50, maxTimeout: 500 }, stale: 10000 });
  try {
    return await fn(readRegistry(paths.portRegistry));
  } finally {
    await release();
  }
}

/** The kernel's ephemeral port range; undefined where there is no such file (not Linux). */
function ephemeralPortRange(): PortRange | undefined {
  try {
    return parsePortRange(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
  } catch {
    return undefined;
  }
}

function portBoundLocally(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

/** Port bases recorded as labels on dbaas containers (any cluster, running or not). */
async function basesInDocker(docker: Docker): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const list = await docker.listContainers({ all: true, filters: { label: [LABEL_CLUSTER] } });
  for (const c of list) {
    const base = c.Labels[`${LABEL_PORT_PREFIX}base`];
    if (base) out.set(c.Labels[LABEL_CLUSTER], Number(base));
  }
  return out;
}

export function createPortActivities(docker: Docker, paths: Paths) {
  const first = Number(process.env.DBAAS_PORT_BASE ?? DEFAULT_PORT_BASE);
  return {
    /** Idempotent: the same cluster always gets the block it got first. */
    async allocatePorts(cluster: string): Promise<ClusterPorts> {
      const inDocker = await basesInDocker(docker);
      return withRegistry(paths, async (reg) => {
        const mine = reg.clusters[cluster] ?? inDocker.get(cluster);
        if (mine !== undefined) {
          if (reg.clusters[cluster] === undefined) {
            reg.clusters[cluster] = mine;
            writeRegistry(paths.portRegistry, reg);
          }
          return portsFromBase(mine);
        }
        const taken = new Set<number>([...Object.values(reg.clusters), ...inDocker.values()]);
        // The lowest block nobody has claimed and clear of the ephemeral range; a block with any
        // port bound here by something else is marked taken and the next one is tried.
        const ephemeral = ephemeralPortRange();
        const unusable = (p: number) => inRange(ephemeral, p);
        for (let base = pickFreeBlock(first, taken, unusable); base !== undefined; base = pickFreeBlock(first, taken, unusable)) {
          const bound = await Promise.all(Array.from({ length: PORT_BLOCK_SIZE }, (_, k) => portBoundLocally(base + k)));
          if (bound.some(Boolean)) {
            taken.add(base);
            continue;
          }
          reg.clusters[cluster] = base;
          writeRegistry(paths.portRegistry, reg);
          return portsFromBase(base);
        }
        const outside = ephemeral ? ` outside the ephemeral range ${ephemeral.low}-${ephemeral.high}` : '';
        throw finalError(ErrorTypes.NoPortsAvailable, `no free block of host ports from ${first}${outside} (set DBAAS_PORT_BASE)`);
      });
    },

    async releasePorts(cluster: string): Promise<void> {
      await withRegistry(paths, (reg) => {
        if (reg.clusters[cluster] === undefined) return;
        delete reg.clusters[cluster];
        writeRegistry(paths.portRegistry, reg);
      });
    },
  };
}
