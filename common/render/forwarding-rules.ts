/**
 * The DOCKER-USER rules that keep forwarded traffic out of cluster networks. Docker's own DOCKER
 * chain accepts traffic routed to a published container port from any interface, whatever host
 * address the port is published on; DOCKER-USER runs before it and Docker never edits it.
 * Pure: the caller lists the chain (`iptables -S DOCKER-USER`) and runs what the plan says.
 */
import { BRIDGE_PREFIX } from '../resource-names';

export const DOCKER_USER_CHAIN = 'DOCKER-USER';
/** Marks the rules as ours. Change it when the rules' shape changes: `dev up` then replaces the old ones. */
export const RULE_COMMENT = 'dbaas: no forwarded traffic into cluster networks';
/** Comments of this family are ours, also those of older versions. */
const OUR_COMMENTS = 'dbaas:';
/** iptables' wildcard: every interface whose name starts with the prefix. */
export const PREFIX_MATCH = `${BRIDGE_PREFIX}+`;

/**
 * Drop a connection routed into the bridge from any other interface. Still allowed: traffic
 * between the bridge's containers (with br_netfilter it passes FORWARD with -i = -o), replies
 * to connections the containers opened (ESTABLISHED, and RELATED for ICMP errors), and the
 * host's own connections, which never pass FORWARD (they go out through OUTPUT; so do the
 * published 127.0.0.1 ports, through docker-proxy). Traffic between two Docker bridges is
 * already dropped by Docker's isolation chains, so a prefix match on both sides loses nothing.
 */
export function dropForwardedInto(bridge: string): string[] {
  return [
    '-o', bridge, '!', '-i', bridge,
    '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED',
    '-m', 'comment', '--comment', RULE_COMMENT,
    '-j', 'DROP',
  ];
}

/**
 * The interfaces the rules cover: our prefix (every network made since the bridges have it),
 * plus the bridge of each cluster network made before (br-<network id>), one rule each.
 */
export function wantedBridges(clusterBridges: string[]): string[] {
  const older = [...new Set(clusterBridges)].filter((b) => !b.startsWith(BRIDGE_PREFIX)).sort();
  return [PREFIX_MATCH, ...older];
}

/** One line of `iptables -S CHAIN` as arguments, without `-A CHAIN`; a double-quoted value stays one argument. */
export function parseRuleLine(line: string): string[] | undefined {
  const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]));
  if (args[0] !== '-A' || args.length < 2) return undefined;
  return args.slice(2);
}

const valueAfter = (args: string[], flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

export interface RulePlan {
  /** Rules to insert at the head of the chain (before Docker's RETURN and anyone's ACCEPT). */
  insert: string[][];
  /** Rules of ours to delete, as listed (for `iptables -D CHAIN …`). */
  delete: string[][];
}

/**
 * What makes the chain hold exactly one current rule of ours per wanted bridge: the missing ones
 * to insert, and ours that are stale (a bridge no longer wanted, an older comment, a duplicate)
 * to delete. Rules that are not ours are never touched. wanted [] removes all of ours.
 */
export function planForwardingRules(listing: string, wanted: string[]): RulePlan {
  const kept = new Set<string>();
  const remove: string[][] = [];
  for (const line of listing.split('\n')) {
    const args = parseRuleLine(line.trim());
    const comment = args && valueAfter(args, '--comment');
    if (!args || !comment?.startsWith(OUR_COMMENTS)) continue;
    const bridge = valueAfter(args, '-o');
    if (comment === RULE_COMMENT && bridge !== undefined && wanted.includes(bridge) && !kept.has(bridge)) kept.add(bridge);
    else remove.push(args);
  }
  return { insert: wanted.filter((b) => !kept.has(b)).map(dropForwardedInto), delete: remove };
}

/** The command a user runs to add the rule by hand (printed where dbaas cannot add it). */
export function insertCommand(bridge: string): string {
  return ['iptables', '-I', DOCKER_USER_CHAIN, '1', ...dropForwardedInto(bridge).map((a) => (/[\s!"]/.test(a) ? `'${a}'` : a))].join(' ');
}
