/**
 * `dev up` adds, `dev down --engine` removes, the DOCKER-USER rules that drop traffic routed from
 * other interfaces into cluster networks (common/render/forwarding-rules.ts). We run the same
 * `iptables` from PATH as dockerd does, so both use one backend (nf_tables or legacy).
 */
import { execFile } from 'node:child_process';
import type Docker from 'dockerode';
import { BRIDGE_NAME_OPTION } from '../../common/resource-names';
import { LABEL_CLUSTER } from '../../common/labels';
import { DOCKER_USER_CHAIN, planForwardingRules, wantedBridges } from '../../common/render/forwarding-rules';
import { which } from './process-util';

export type FirewallResult =
  | { applied: true; bridges: string[]; inserted: number; deleted: number }
  | { applied: false; reason: string };

/** Why this process cannot change the Docker host's firewall, or undefined when it can. */
function unavailable(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) return `the Docker engine is on another host (DOCKER_HOST=${host})`;
  if (process.getuid?.() !== 0) return 'changing iptables needs root';
  if (which('iptables') === undefined) return 'no iptables command on this machine';
  return undefined;
}

function iptables(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // -w: wait for the xtables lock that dockerd takes too, instead of failing.
    execFile('iptables', ['-w', ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`iptables ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The Linux bridge of each cluster network: the name we gave it, else Docker's br-<id>. */
async function clusterBridges(docker: Docker): Promise<string[]> {
  const nets = await docker.listNetworks({ filters: { label: [LABEL_CLUSTER], driver: ['bridge'] } });
  return nets.map((n) => n.Options?.[BRIDGE_NAME_OPTION] ?? `br-${n.Id.slice(0, 12)}`);
}

/** The chain's rules; undefined when the chain does not exist (dockerd never ran with iptables). */
async function listChain(): Promise<string | undefined> {
  return iptables(['-S', DOCKER_USER_CHAIN]).catch(() => undefined);
}

/** Idempotent: inserts only the missing rules (before removing stale ones, so no gap opens). */
export async function ensureForwardingFirewall(docker: Docker): Promise<FirewallResult> {
  const reason = unavailable();
  if (reason) return { applied: false, reason };
  const bridges = wantedBridges(await clusterBridges(docker));
  let listing = await listChain();
  if (listing === undefined) {
    // dockerd adds its RETURN rule and the FORWARD jump to an existing chain and keeps our rules.
    await iptables(['-N', DOCKER_USER_CHAIN]);
    listing = '';
  }
  const plan = planForwardingRules(listing, bridges);
  for (const rule of plan.insert) await iptables(['-I', DOCKER_USER_CHAIN, '1', ...rule]);
  for (const rule of plan.delete) await iptables(['-D', DOCKER_USER_CHAIN, ...rule]);
  return { applied: true, bridges, inserted: plan.insert.length, deleted: plan.delete.length };
}

/** Removes every rule of ours, whichever version added it; other rules stay. */
export async function removeForwardingFirewall(): Promise<FirewallResult> {
  const reason = unavailable();
  if (reason) return { applied: false, reason };
  const plan = planForwardingRules((await listChain()) ?? '', []);
  for (const rule of plan.delete) await iptables(['-D', DOCKER_USER_CHAIN, ...rule]);
  return { applied: true, bridges: [], inserted: 0, deleted: plan.delete.length };
}
