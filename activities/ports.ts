/**
 * Host port allocation. A registry file (DBAAS_HOME/ports.json, under a file lock) maps cluster
 * → block base, so concurrent CreateCluster runs never pick the same block; ports published by
 * existing dbaas containers and ports already bound on 127.0.0.1 are skipped too.
 */
import * as fs from 'node:fs';
import type { Inventory } from './hosts/inventory';
import * as net from 'node:net';
import * as lockfile from 'proper-lockfile';
import type { Paths } from '../common/paths';
import { DEFAULT_PORT_BASE, PORT_BLOCK_SIZE, inRange, parsePortRange, pickFreeBlock, portsFromBase, validPortBase, type PortRange } from '../common/ports';
import type { ClusterPorts } from '../common/spec';
import { ErrorTypes, finalError } from './errors';
import { warn } from './heartbeat';

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

/** Whether something listens on 127.0.0.1:port (a listen there fails). */
export function portBoundLocally(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

/** Port bases recorded as labels on dbaas containers (any cluster, running or not). */
async function basesInDocker(inv: Inventory): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await inv.containers()).members) if (m.portLabels.base !== undefined) out.set(m.cluster, m.portLabels.base);
  return out;
}

/** The lowest block not taken, with no port excluded and none bound on 127.0.0.1 now; bound ones join `taken`. */
async function firstUnboundBlock(first: number, taken: Set<number>, excluded: (p: number) => boolean): Promise<number | undefined> {
  for (let base = pickFreeBlock(first, taken, excluded); base !== undefined; base = pickFreeBlock(first, taken, excluded)) {
    const bound = await Promise.all(Array.from({ length: PORT_BLOCK_SIZE }, (_, k) => portBoundLocally(base + k)));
    if (!bound.some(Boolean)) return base;
    taken.add(base);
  }
  return undefined;
}

export function createPortActivities(inv: Inventory, paths: Paths) {
  const first = Number(process.env.DBAAS_PORT_BASE ?? DEFAULT_PORT_BASE);
  return {
    /** Idempotent: the same cluster always gets the block it got first. */
    async allocatePorts(cluster: string): Promise<ClusterPorts> {
      const inDocker = await basesInDocker(inv);
      return withRegistry(paths, async (reg) => {
        const mine = reg.clusters[cluster] ?? inDocker.get(cluster);
        if (mine !== undefined) {
          if (reg.clusters[cluster] === undefined) {
            reg.clusters[cluster] = mine;
            writeRegistry(paths.portRegistry, reg);
          }
          return portsFromBase(mine);
        }
        if (!validPortBase(first)) {
          throw finalError(ErrorTypes.NoPortsAvailable, `DBAAS_PORT_BASE=${process.env.DBAAS_PORT_BASE} is not a port from 1024 to ${65536 - PORT_BLOCK_SIZE}`);
        }
        const taken = new Set<number>([...Object.values(reg.clusters), ...inDocker.values()].filter(Number.isInteger));
        // The lowest block nobody has claimed, clear of the ephemeral range; a block with any port
        // bound here by something else is marked taken and the next one is tried.
        const ephemeral = ephemeralPortRange();
        let base = await firstUnboundBlock(first, taken, (p) => inRange(ephemeral, p));
        if (base === undefined && ephemeral) {
          // A host whose ephemeral range covers every block (tuned to 1024-65535, say): a block
          // inside it still works, unless a connection takes one of its ports before a member starts.
          warn(`no free block of host ports outside the ephemeral range ${ephemeral.low}-${ephemeral.high}; using one inside it`);
          base = await firstUnboundBlock(first, taken, () => false);
        }
        if (base === undefined) throw finalError(ErrorTypes.NoPortsAvailable, `no free block of host ports from ${first} (set DBAAS_PORT_BASE)`);
        reg.clusters[cluster] = base;
        writeRegistry(paths.portRegistry, reg);
        return portsFromBase(base);
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
