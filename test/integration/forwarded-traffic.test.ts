/**
 * Forwarded traffic: a network namespace routed to this host through a veth pair stands for a
 * machine on a network this host routes. Docker's DOCKER chain accepts its packets to a member's
 * published port (even one published on 127.0.0.1 only) unless `dev up`'s DOCKER-USER rule drops
 * them. Needs root (CI runs as root).
 *
 * Members here are listeners on 5432 in the postgres image, labelled as a cluster of this test
 * run (leftovers are removed by label), published on 127.0.0.1 as members are. Three clusters:
 * one whose network is made as the activity makes it now (bridge dbaas-<hash>), one made as
 * before (bridge br-<id>: clusters created before the rule existed), and one made after the rule
 * was added (covered with nothing done per network).
 *
 * The prefix rule is machine-wide and `dev up` (which CI runs first) has usually added it: the
 * test never removes a rule it did not cause. It runs `dev up`'s code, which adds a rule for its
 * own older-style network (and the prefix rule if it was missing), takes that one rule out to show
 * it is what dropped the traffic, and at the end deletes exactly the rules it caused. `dev down
 * --engine`'s removal of every rule of ours is covered by the plan's unit test.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import Docker from 'dockerode';
import { TEST_RUN_ENV, ensureContainerRunning, ensureNetwork, execIn, removeClusterResources, withRunLabel } from '../../activities/docker';
import { IMAGES } from '../../common/images';
import { PG_PORT } from '../../common/service-ports';
import { bridgeName, containerName, networkName } from '../../common/resource-names';
import { labels } from '../../common/labels';
import { DOCKER_USER_CHAIN, PREFIX_MATCH, RULE_COMMENT, dropForwardedInto } from '../../common/render/forwarding-rules';
import { ensureForwardingFirewall } from '../../client/dev/forwarding-firewall';
import { TEST_PORT_BASE, TEST_RUN, removeLeftoverTestClusters, testClusterName, memberIp } from '../helpers/integration';

const docker = new Docker();
const current = testClusterName('fwd');
const older = testClusterName('fwdold');
const later = testClusterName('fwdnew');
/** Host ports from the top of this run's block, clear of the clusters other tests make from its base. */
const hostPort = (i: number): number => Number(TEST_PORT_BASE) + 900 + i;

const tag = crypto.randomBytes(3).toString('hex');
const ns = `dbfw-${tag}`;
/** Neither end may start with the bridge prefix `dbaas-`: the rule lets traffic from such interfaces through. */
const hostEnd = `dbfw${tag}h`;
const nsEnd = `dbfw${tag}n`;
const subnet = `10.231.${crypto.randomInt(0, 256)}`;
const hostAddr = `${subnet}.1`;
const nsAddr = `${subnet}.2`;

const run = (cmd: string, args: string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout)));
  });

/** A TCP connect with a 3 s limit, run by node in the given namespace (or here): 'connected' or why not. */
const CONNECT_SCRIPT = `
const s = require('net').connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: 3000 });
s.on('connect', () => { console.log('connected'); process.exit(0); });
s.on('timeout', () => { console.log('timed out'); process.exit(1); });
s.on('error', (e) => { console.log(e.code); process.exit(1); });`;

function tcpConnect(host: string, port: number, netns?: string): Promise<string> {
  const node = [process.execPath, '-e', CONNECT_SCRIPT, host, String(port)];
  const [cmd, ...args] = netns ? ['ip', 'netns', 'exec', netns, ...node] : node;
  return new Promise((resolve) => execFile(cmd, args, (_err, stdout) => resolve(stdout.trim() || 'no answer')));
}

/** A listener on 5432 in the postgres image, published on 127.0.0.1 as a member's port is. */
async function listener(cluster: string, member: string, port: number): Promise<string> {
  const name = containerName(cluster, member);
  await ensureContainerRunning(docker, {
    name,
    labels: labels(cluster, 'postgres', member),
    create: {
      Image: IMAGES.postgres,
      Entrypoint: ['python3', '-m', 'http.server', String(PG_PORT)],
      ExposedPorts: { [`${PG_PORT}/tcp`]: {} },
      HostConfig: {
        NetworkMode: networkName(cluster),
        PortBindings: { [`${PG_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      },
    },
  });
  for (let i = 0; i < 50; i++) {
    const ip = await memberIp(docker, cluster, member);
    if (ip && (await tcpConnect(ip, PG_PORT)) === 'connected') return ip;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} does not listen on ${PG_PORT}`);
}

/** Our rules as the chain lists them. */
async function ourRules(): Promise<string[]> {
  const listing = await run('iptables', ['-w', '-S', 'DOCKER-USER']).catch(() => '');
  return listing.split('\n').filter((l) => l.includes(RULE_COMMENT));
}

let rulesBefore: string[] = [];
const ips = { current: '', currentPeer: '', older: '', later: '' };
/** The Linux bridge of the older-style network (br-<id>): its rule is the test's own. */
let olderBridge = '';

const hasRule = (rules: string[], bridge: string): boolean => rules.some((l) => l.includes(`-o ${bridge} `));
const deleteRule = (bridge: string): Promise<string> => run('iptables', ['-w', '-D', DOCKER_USER_CHAIN, ...dropForwardedInto(bridge)]);

before(async () => {
  assert.equal(process.getuid?.(), 0, 'this test needs root (network namespaces, iptables)');
  assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '1', 'the host routes (Docker turns ip_forward on)');
  await removeLeftoverTestClusters(docker);
  rulesBefore = await ourRules();

  process.env[TEST_RUN_ENV] = TEST_RUN;
  await ensureNetwork(docker, current, labels(current, 'network'));
  // A network as ensureNetwork made them before bridges had a name of ours: br-<id>.
  const made = await docker.createNetwork({ Name: networkName(older), Driver: 'bridge', Labels: withRunLabel(labels(older, 'network')), CheckDuplicate: true });
  olderBridge = `br-${made.id.slice(0, 12)}`;
  ips.current = await listener(current, 'pg-0', hostPort(0));
  ips.currentPeer = await listener(current, 'pg-1', hostPort(1));
  ips.older = await listener(older, 'pg-0', hostPort(2));

  // The other machine: its own namespace, a /30 to this host, this host as its default gateway.
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd]);
  await run('ip', ['link', 'set', nsEnd, 'netns', ns]);
  await run('ip', ['addr', 'add', `${hostAddr}/30`, 'dev', hostEnd]);
  await run('ip', ['link', 'set', hostEnd, 'up']);
  await run('ip', ['-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', nsEnd]);
  await run('ip', ['-n', ns, 'link', 'set', nsEnd, 'up']);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', hostAddr]);
});

after(async () => {
  await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  await run('ip', ['link', 'del', hostEnd]).catch(() => undefined);
  for (const c of [current, older, later]) await removeClusterResources(docker, c, { data: false, backups: false }, 1);
  // Exactly the rules this test caused: its network's, and the prefix rule if it was not there before.
  const rules = await ourRules();
  if (olderBridge && hasRule(rules, olderBridge)) await deleteRule(olderBridge).catch(() => undefined);
  if (!hasRule(rulesBefore, PREFIX_MATCH) && hasRule(rules, PREFIX_MATCH)) await deleteRule(PREFIX_MATCH).catch(() => undefined);
});

test('the routed namespace reaches a member of an older cluster network before its rule is there', async () => {
  // Proves the setup: the packet arrives on the veth and Docker forwards it to the bridge. The
  // prefix rule does not match this network's br-<id>, and no rule names it yet.
  assert.ok(!hasRule(await ourRules(), olderBridge));
  assert.equal(await tcpConnect(ips.older, PG_PORT, ns), 'connected');
});

test('a cluster network made now is the Linux bridge dbaas-<hash>', async () => {
  assert.match(await run('ip', ['-br', 'link', 'show', bridgeName(current)]), new RegExp(`^${bridgeName(current)}\\s+UP`));
});

test('with the rules of dev up, a connection from the routed namespace to a member on 5432 fails; the host and the cluster still connect', async () => {
  const result = await ensureForwardingFirewall(docker);
  assert.ok(result.applied, JSON.stringify(result));
  const rules = await ourRules();
  assert.ok(hasRule(rules, PREFIX_MATCH) && hasRule(rules, olderBridge), rules.join('\n'));

  assert.notEqual(await tcpConnect(ips.current, PG_PORT, ns), 'connected', 'a cluster network made now');
  assert.notEqual(await tcpConnect(ips.older, PG_PORT, ns), 'connected', 'a cluster network made before the rule existed');
  await ensureNetwork(docker, later, labels(later, 'network'));
  ips.later = await listener(later, 'pg-0', hostPort(3));
  assert.notEqual(await tcpConnect(ips.later, PG_PORT, ns), 'connected', 'a cluster network made after the rule was added');

  for (const ip of [ips.current, ips.older, ips.later]) assert.equal(await tcpConnect(ip, PG_PORT), 'connected', `the host reaches ${ip}:${PG_PORT}`);
  for (const i of [0, 1, 2, 3]) assert.equal(await tcpConnect('127.0.0.1', hostPort(i)), 'connected', `published 127.0.0.1:${hostPort(i)}`);
  const peer = await execIn(docker, containerName(current, 'pg-1'), ['python3', '-c', `import socket; socket.create_connection(('${ips.current}', ${PG_PORT}), 3); print('connected')`]);
  assert.equal(peer.output.trim(), 'connected', 'a member reaches another member on its network');
});

test('dev up again changes nothing; without its rule the older network is reached again, and dev up puts the rule back', async () => {
  const rules = await ourRules();
  const again = await ensureForwardingFirewall(docker);
  assert.deepEqual(again.applied && { inserted: again.inserted, deleted: again.deleted }, { inserted: 0, deleted: 0 });
  assert.deepEqual(await ourRules(), rules);

  await deleteRule(olderBridge);
  assert.equal(await tcpConnect(ips.older, PG_PORT, ns), 'connected', 'without its rule Docker forwards it: the rule was what dropped it');
  assert.notEqual(await tcpConnect(ips.current, PG_PORT, ns), 'connected', 'the prefix rule still covers the network made now');
  const restored = await ensureForwardingFirewall(docker);
  assert.deepEqual(restored.applied && { inserted: restored.inserted, deleted: restored.deleted }, { inserted: 1, deleted: 0 });
  assert.notEqual(await tcpConnect(ips.older, PG_PORT, ns), 'connected');
});
