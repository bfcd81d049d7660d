/**
 * One real cluster (pg-0, pg-1, one etcd), locked down as created:
 * - TLS: every endpoint (rw, ro, pooled rw/ro, a member's port) verify-full against the cluster
 *   CA, plain connections refused, replication over TLS; `cluster rotate-certs` gives new
 *   connections new certificates while a client loop sees no failed query, and pgBackRest's
 *   servers (each member's, the stanza's on the repository host) new ones a backup then uses.
 * - Patroni's REST API and etcd refuse clients without the cluster's credentials, while what
 *   uses them keeps working: HAProxy's health checks (rw reaches the leader, ro a replica),
 *   `dbaas switchover` and `dbaas cluster set-profile`. Requests come from this host to the
 *   containers' addresses on the cluster network, as anyone on that network could send them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { ETCD_PATRONI_USER, PATRONI_API_USER } from '../../common/service-users';
import { PATRONI_API_PORT } from '../../common/service-ports';
import { containerName } from '../../common/resource-names';
import { dcsPrefix } from '../../common/dcs-keys';
import type { ConnectionInfo } from '../../common/spec';
import { demux } from '../../activities/docker';
import { readClusterSecrets } from '../../activities/secrets';
import type { ClusterStatus } from '../../client/cluster-info';
import { historyText } from '../helpers/history';
import { startQueryLoop } from '../helpers/query-loop';
import { presentedCertificate, presentedTlsCertificate } from '../../activities/tls-probe';
import { caCertPath, issueCertificate, readCaCert } from '../../activities/cluster-tls';
import { PGBACKREST_PURPOSES, REPOSITORY_HOST_AUTHORITY } from '../../activities/backup-certificates';
import { repositoryHostName, repositoryHostNetwork, stanzaServerOf } from '../../activities/repository-host/host';
import { repositoryClientName } from '../../activities/repository-host/render';
import { BACKUP_SERVER_PORT, backupPeerName } from '../../common/render/pgbackrest';
import { Client } from 'pg';
import * as fs from 'node:fs';
import { childEnv, queryCluster, runCli, startIntegration, testClusterName, type IntegrationEnv, memberIp } from '../helpers/integration';

const docker = new Docker();
const S = testClusterName('sec');
let it: IntegrationEnv;
let info: ConnectionInfo;

before(async () => {
  it = await startIntegration(docker);
  info = await it.createCluster({ name: S, replicas: 1, sync: false, profile: 'fast', etcdMembers: 1, keepOnFailure: false });
});

after(async () => {
  await it?.stop([S]);
});

const cli = (...args: string[]) => runCli(args, childEnv(it.env, it.paths));

async function api(member: string): Promise<string> {
  const ip = await memberIp(docker, S, member);
  assert.ok(ip, `${member} has an address`);
  return `http://${ip}:${PATRONI_API_PORT}`;
}

async function leaderName(): Promise<string> {
  const r = await cli('cluster', 'status', S, '--json');
  assert.equal(r.code, 0, r.stderr);
  const leader = (JSON.parse(r.stdout) as ClusterStatus).members.find((m) => m.role === 'leader');
  assert.ok(leader, r.stdout);
  return leader.name;
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** etcdctl inside the etcd container; credentials go in the exec's environment, never on its command line. */
async function etcdctl(args: string[], env: string[] = []): Promise<{ exitCode: number; output: string }> {
  const exec = await docker.getContainer(containerName(S, 'etcd-0')).exec({ Cmd: ['etcdctl', ...args], Env: env, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return { exitCode: (await exec.inspect()).ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
}

test('Patroni REST API: unsafe requests without the credentials get 401 and change nothing; GET and health checks answer', async () => {
  const leader = await leaderName();
  const other = leader === 'pg-0' ? 'pg-1' : 'pg-0';
  const before = (await (await fetch(`${await api(leader)}/config`)).json()) as Record<string, unknown>;
  for (const m of ['pg-0', 'pg-1']) {
    const base = await api(m);
    const patch = await fetch(`${base}/config`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ postgresql: { parameters: { archive_command: 'touch /tmp/owned' } } }),
    });
    assert.equal(patch.status, 401, `${m} PATCH /config`);
    const switchover = await fetch(`${base}/switchover`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ leader, candidate: other }),
    });
    assert.equal(switchover.status, 401, `${m} POST /switchover`);
    const wrong = await fetch(`${base}/switchover`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: basic(PATRONI_API_USER, 'not-the-password') },
      body: JSON.stringify({ leader, candidate: other }),
    });
    assert.equal(wrong.status, 401, `${m} POST /switchover with a wrong password`);
    const restart = await fetch(`${base}/restart`, { method: 'POST', body: '{}' });
    assert.equal(restart.status, 401, `${m} POST /restart`);
    // Reads and HAProxy's checks (OPTIONS /primary, /replica) need nothing.
    assert.equal((await fetch(`${base}/cluster`)).status, 200);
    assert.equal((await fetch(`${base}/patroni`)).status, 200);
    assert.equal((await fetch(`${base}/primary`, { method: 'OPTIONS' })).status, m === leader ? 200 : 503);
    assert.equal((await fetch(`${base}/replica`, { method: 'OPTIONS' })).status, m === leader ? 503 : 200);
  }
  assert.equal(await leaderName(), leader, 'the refused switchover did not happen');
  const after = (await (await fetch(`${await api(leader)}/config`)).json()) as Record<string, unknown>;
  assert.deepEqual(after, before, 'the refused PATCH changed nothing');
  // With the cluster's credentials, the same kind of request is taken (a PATCH that writes nothing).
  const allowed = await fetch(`${await api(leader)}/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: basic(PATRONI_API_USER, readClusterSecrets(it.paths, S).patroniApi ?? '') },
    body: JSON.stringify({ dbaas_wakeup: null }),
  });
  assert.equal(allowed.status, 200);
});

test('HAProxy still routes: a row written through rw is read through ro from a replica', async () => {
  const e = childEnv(it.env, it.paths);
  await queryCluster(e, S, 'create table if not exists auth_rows (v text primary key)');
  await queryCluster(e, S, "insert into auth_rows values ('through-rw')");
  let seen: { r: boolean; n: number } | undefined;
  for (let k = 0; k < 40 && !(seen?.n === 1); k++) {
    [seen] = await queryCluster<{ r: boolean; n: number }>(e, S, "select pg_is_in_recovery() as r, count(*)::int as n from auth_rows where v = 'through-rw'", ['--ro']);
    if (seen.n !== 1) await new Promise((r) => setTimeout(r, 250));
  }
  assert.deepEqual(seen, { r: true, n: 1 });
});

test('etcd: refused without credentials and outside the Patroni user\'s prefix, allowed inside it', async () => {
  const leaderKey = `${dcsPrefix(S)}leader`;
  const anonymous = await etcdctl(['get', leaderKey]);
  assert.notEqual(anonymous.exitCode, 0, anonymous.output);
  assert.match(anonymous.output, /user name is empty/);
  const asPatroni = [`ETCDCTL_USER=${ETCD_PATRONI_USER}`, `ETCDCTL_PASSWORD=${readClusterSecrets(it.paths, S).etcdPatroni ?? ''}`];
  const outside = await etcdctl(['get', '--prefix', '/'], asPatroni);
  assert.notEqual(outside.exitCode, 0, outside.output);
  assert.match(outside.output, /permission denied/);
  const otherCluster = await etcdctl(['put', `${dcsPrefix(`${S}x`)}leader`, 'me'], asPatroni);
  assert.match(otherCluster.output, /permission denied/, 'a prefix that merely starts with the cluster name is outside');
  const inside = await etcdctl(['get', '--print-value-only', leaderKey], asPatroni);
  assert.equal(inside.exitCode, 0, inside.output);
  assert.equal(inside.output.trim(), await leaderName());
  const wrong = await etcdctl(['get', leaderKey], [`ETCDCTL_USER=${ETCD_PATRONI_USER}`, 'ETCDCTL_PASSWORD=not-the-password']);
  assert.match(wrong.output, /authentication failed/);
});

test('dbaas switchover and cluster set-profile work with authentication on; no new password in their histories', async () => {
  const from = await leaderName();
  const sw = await cli('switchover', S);
  assert.equal(sw.code, 0, sw.stderr + sw.stdout);
  const to = await leaderName();
  assert.notEqual(to, from, sw.stdout);
  const sp = await cli('cluster', 'set-profile', S, 'default');
  assert.equal(sp.code, 0, sp.stderr + sp.stdout);
  assert.match(sp.stdout, /profile default \(was fast\).*applied by pg-0, pg-1/);
  const r = await cli('cluster', 'status', S, '--json');
  assert.equal((JSON.parse(r.stdout) as { settings?: { profile?: string } }).settings?.profile, 'default');
  const s = readClusterSecrets(it.paths, S);
  const secrets = [s.patroniApi, s.etcdRoot, s.etcdPatroni].filter((x): x is string => Boolean(x));
  assert.equal(secrets.length, 3);
  const listed = it.env.client.workflow.list({ query: `ClusterName = '${S}'` });
  for await (const w of listed) {
    const text = await historyText(it.env.client.workflow.getHandle(w.workflowId, w.runId));
    for (const p of secrets) assert.ok(!text.includes(p), `a password is in the history of ${w.workflowId}`);
  }
  assert.ok(info.ports.rw > 0);
});

const ENDPOINTS: [string, string[]][] = [['rw', []], ['ro', ['--ro']], ['pooled rw', ['--pooled']], ['pooled ro', ['--pooled', '--ro']], ['pg-1 direct', ['--member', 'pg-1']]];

async function uriOf(args: string[]): Promise<string> {
  const r = await cli('connect', S, ...args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function sslOfSession(uri: string): Promise<boolean> {
  const c = new Client({ connectionString: uri, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0].ssl;
  } finally {
    await c.end();
  }
}

test('TLS: connect prints verify-full with the cluster CA; every endpoint serves TLS; plain connections are refused', async () => {
  const ca = caCertPath(it.paths, S);
  assert.equal(fs.statSync(ca.replace(/ca\.crt$/, 'ca.key')).mode & 0o777, 0o600, 'the CA key is private');
  for (const [name, args] of ENDPOINTS) {
    const uri = await uriOf(args);
    assert.ok(uri.endsWith(`?sslmode=verify-full&sslrootcert=${ca}`), `${name}: ${uri.replace(/:[^:@/]*@/, ':***@')}`);
    assert.equal(await sslOfSession(uri), true, `${name}: pg_stat_ssl.ssl`);
    const plain = new Client({ connectionString: uri.replace(/\?.*$/, '?sslmode=disable'), connectionTimeoutMillis: 5000 });
    plain.on('error', () => undefined);
    await assert.rejects(plain.connect(), /no encryption|SSL required/, `${name}: sslmode=disable is refused`);
    await plain.end().catch(() => undefined);
  }
});

test('TLS: replication connections are encrypted, and members verify each other (verify-full)', async () => {
  const [row] = await queryCluster<{ n: number; ssl: number }>(childEnv(it.env, it.paths), S,
    'select count(*)::int as n, count(*) filter (where s.ssl)::int as ssl from pg_stat_replication r join pg_stat_ssl s using (pid)', ['--superuser']);
  assert.deepEqual(row, { n: 1, ssl: 1 });
  const conninfo = await queryCluster<{ c: string }>(childEnv(it.env, it.paths), S, "select setting as c from pg_settings where name = 'primary_conninfo'", ['--member', 'pg-1', '--superuser']);
  // pg-1 may be the leader after the switchover test: then pg-0 streams, and pg-1's setting is empty.
  if (conninfo[0].c !== '') assert.match(conninfo[0].c, /sslmode=verify-full/);
});

/** The serial each pgBackRest server presents: both members' and the stanza's on the repository host (each asked with a client certificate it accepts). */
async function backupServerSerials(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ca = readCaCert(it.paths, S);
  for (const member of ['pg-0', 'pg-1']) {
    const name = containerName(S, member);
    const peer = await issueCertificate(it.paths, S, { commonName: backupPeerName(S), dnsNames: [name], ips: [] }, PGBACKREST_PURPOSES);
    out[member] = (await presentedTlsCertificate((await memberIp(docker, S, member))!, BACKUP_SERVER_PORT, name, ca, peer)).serial;
  }
  const host = repositoryHostName(it.paths);
  const ip = (await docker.getContainer(host).inspect()).NetworkSettings.Networks[repositoryHostNetwork(it.paths)].IPAddress;
  const client = await issueCertificate(it.paths, REPOSITORY_HOST_AUTHORITY, { commonName: repositoryClientName(S), dnsNames: [repositoryClientName(S)], ips: [] }, [PGBACKREST_PURPOSES[1]]);
  out.repository = (await presentedTlsCertificate(ip, stanzaServerOf(it.paths, S)!.port, host, readCaCert(it.paths, REPOSITORY_HOST_AUTHORITY), client)).serial;
  return out;
}

test('rotate-certs: new connections get new certificates from the same CA; a client loop sees no failed query; pgBackRest\'s servers get new ones a backup uses', async () => {
  const { ports } = info;
  const ca = readCaCert(it.paths, S);
  const endpoints = [ports.rw, ports.ro, ports.pooledRw, ports.pooledRo];
  const serials = async (): Promise<string[]> => Promise.all(endpoints.map(async (p) => (await presentedCertificate('127.0.0.1', p, '127.0.0.1', ca)).serial));
  const before = await serials();
  const backupBefore = await backupServerSerials();
  const loops = [startQueryLoop(await uriOf([]), { reconnect: true, intervalMs: 20 }), startQueryLoop(await uriOf(['--pooled']), { reconnect: true, intervalMs: 20 })];
  const held = new Client({ connectionString: await uriOf([]) });
  await held.connect();
  const r = await cli('cluster', 'rotate-certs', S);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /new certificates on pg-0, pg-1, pgbouncer-ro, pgbouncer-rw and its stanza's server on the repository host/);
  await new Promise((res) => setTimeout(res, 500));
  const stats = await Promise.all(loops.map((l) => l.stop()));
  assert.equal((await held.query<{ one: number }>('select 1 as one')).rows[0].one, 1, 'a session opened before the rotation goes on');
  await held.end();
  const after = await serials();
  for (let k = 0; k < endpoints.length; k++) assert.notEqual(after[k], before[k], `port ${endpoints[k]}: the certificate changed`);
  for (const s of stats) {
    assert.ok(s.ok > 10, `the loop ran (${s.ok} queries)`);
    assert.equal(s.failed, 0, s.errors.join('; '));
  }
  assert.equal(readCaCert(it.paths, S), ca, 'the CA is unchanged');
  // pgBackRest's servers restarted on new certificates, and a backup uses them: root on the host
  // reaches both members' servers, the leader pushes the backup's WAL to the stanza's server.
  const backupAfter = await backupServerSerials();
  for (const [server, serial] of Object.entries(backupAfter)) assert.notEqual(serial, backupBefore[server], `${server}: the pgBackRest certificate changed`);
  const backup = await cli('backup', 'run', S, '--type', 'full');
  assert.equal(backup.code, 0, backup.stderr + backup.stdout);
  assert.match(backup.stdout, /data files from pg-/);
  assert.equal((await cli('cluster', 'rotate-certs', 'no-such-cluster')).code, 2);
  for await (const w of it.env.client.workflow.list({ query: `ClusterName = '${S}'` })) {
    const text = await historyText(it.env.client.workflow.getHandle(w.workflowId, w.runId));
    assert.ok(!text.includes('PRIVATE KEY'), `no key in the history of ${w.workflowId}`);
  }
});
