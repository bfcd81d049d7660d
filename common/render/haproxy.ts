/** haproxy.cfg for one cluster, rendered from the typed spec. Pure. */
import type { CheckTiming } from '../spec';
import { HAPROXY_RO_PORT, HAPROXY_RW_PORT, HAPROXY_STATS_PORT, PATRONI_API_PORT, PG_PORT } from '../service-ports';
import { containerName } from '../resource-names';

export const HAPROXY_CONFIG_PATH = '/etc/haproxy/haproxy.cfg';
export const HAPROXY_ADMIN_SOCKET = '/run/haproxy/admin.sock';
/** Server states saved just before a reload, so new workers start with what the old ones knew. */
export const HAPROXY_STATE_FILE = '/run/haproxy/server-state';

export interface HaproxyRenderInput {
  cluster: string;
  /** Postgres members (pg-0, pg-1, ...), each a server in both backends. */
  members: string[];
  checks: CheckTiming;
  maxConnPerServer?: number;
  /**
   * Members rendered `disabled` (maintenance): a member still cloning is added to the config
   * early, off the critical path, and put in service later by the runtime API once Patroni
   * reports it ready (HAProxy 2.6 would otherwise start a new server UP before any check).
   */
  disabled?: string[];
}

export function renderHaproxyConfig(i: HaproxyRenderInput): string {
  const c = i.checks;
  const maxconn = i.maxConnPerServer ?? 100;
  const disabled = new Set(i.disabled ?? []);
  const servers = i.members
    .map((m) => `    server ${m} ${containerName(i.cluster, m)}:${PG_PORT} maxconn ${maxconn} check port ${PATRONI_API_PORT}${disabled.has(m) ? ' disabled' : ''}`)
    .join('\n');
  // Servers resolve through Docker's embedded DNS at run time (init-addr none), so a member
  // container restarted with a new IP is followed and a missing one does not stop HAProxy.
  const defaultServer =
    `    default-server inter ${c.interMs}ms fastinter ${c.fastInterMs}ms downinter ${c.downInterMs}ms fall ${c.fall} rise ${c.rise} ` +
    'on-marked-down shutdown-sessions resolvers docker init-addr last,libc,none';
  return `# Rendered by dbaas for cluster ${i.cluster}. Do not edit: dbaas rewrites it.
global
    maxconn 4000
    stats socket ${HAPROXY_ADMIN_SOCKET} mode 600 level admin expose-fd listeners
    stats timeout 30s
    server-state-file ${HAPROXY_STATE_FILE}

resolvers docker
    nameserver dns 127.0.0.11:53
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 5s
    hold other 5s
    hold refused 5s
    # A member whose name stops resolving (container killed) keeps its last address and is
    # judged by its checks: leaving "MAINT (resolution)" would count it UP until its next check.
    hold nx 1h
    hold timeout 5s
    hold obsolete 5s

defaults
    mode tcp
    retries 2
    timeout connect 4s
    timeout client 30m
    timeout server 30m
    timeout check 3s
    # Without this a reloaded worker would start every server UP until its first checks.
    load-server-state-from-file global

frontend stats
    mode http
    bind *:${HAPROXY_STATS_PORT}
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /
    stats refresh 5s

# Read-write: only the member whose Patroni answers 200 on /primary (the leader). "first"
# picks the lowest-numbered UP server, so a member just added (highest number, not yet checked)
# never takes writes ahead of the leader.
listen rw
    bind *:${HAPROXY_RW_PORT}
    balance first
    option httpchk OPTIONS /primary
    http-check expect status 200
${defaultServer}
${servers}

# Read-only: round robin over running replicas (Patroni /replica honours noloadbalance).
listen ro
    bind *:${HAPROXY_RO_PORT}
    balance roundrobin
    option httpchk OPTIONS /replica
    http-check expect status 200
${defaultServer}
${servers}
`;
}
