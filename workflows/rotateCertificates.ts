/**
 * RotateCertificates (`cluster rotate-certs NAME`): every running PostgreSQL member and pooler
 * gets a new server certificate from the cluster CA and reloads; then a new connection to each
 * must present its new certificate. No restart: open connections keep their session, new ones
 * get the new certificate. pgBackRest's servers (each member's, and the stanza's on the
 * repository host) restart on theirs: only backups and WAL pushes use them. The CA stays (clients keep their sslrootcert). Re-running after a
 * failure issues new certificates again; every certificate of the CA is valid meanwhile.
 */
import { patched } from '@temporalio/workflow';
import { quick } from './activity-options';
import { refuse } from './refusals';
import { leaseStep } from '../common/lease';
import { checkNames } from './input-checks';
import { withClusterLease } from './lease';
import { Steps } from './steps';
import type { RotatedCertificate, ServerKind } from '../activities/certificates';

export interface RotateCertificatesResult {
  cluster: string;
  /** New serial per server; servers whose container was stopped get one when they start. */
  rotated: RotatedCertificate[];
  skipped: string[];
  /** The serial of the stanza's server on the repository host, when the cluster backs up there. */
  repositoryServer?: string;
}

const CHECK_STEP = 'check the cluster runs TLS';
const VERIFY_STEP = 'check new connections get the new certificates';
const REPOSITORY_SERVER_STEP = 'new certificate for the stanza\'s server on the repository host, restart it';
/** Runs from before the repository host's certificates were renewed replay without its step. */
const ROTATE_REPOSITORY_SERVER = 'rotate-repository-server';

export async function rotateCertificates(cluster: string): Promise<RotateCertificatesResult> {
  checkNames({ clusters: [cluster] });
  const steps = new Steps('rotate-certs', cluster, [leaseStep(cluster), CHECK_STEP]);
  return withClusterLease(steps, cluster, () => rotateUnderLease(cluster, steps));
}

async function rotateUnderLease(cluster: string, steps: Steps): Promise<RotateCertificatesResult> {
  const servers = await steps.run(CHECK_STEP, async () => {
    if (!(await quick.clusterHasTls(cluster))) {
      refuse(`cluster ${cluster} was made without TLS (it has no certificate authority): there are no certificates to rotate`);
    }
    const d = await quick.describeCluster(cluster);
    const poolers = await quick.poolerContainers(cluster);
    return [
      ...d.members.map((m) => ({ member: m.name, kind: 'postgres' as ServerKind })),
      ...poolers.map((member) => ({ member, kind: 'pgbouncer' as ServerKind })),
    ];
  });
  const onRepositoryHost = patched(ROTATE_REPOSITORY_SERVER) && (await quick.repositoryLayout(cluster)).kind === 'host';
  // A member's step renews its pgBackRest certificates too (server, and client of the repository host).
  const stepName = (s: { member: string; kind: ServerKind }): string => `new certificate${s.kind === 'postgres' ? 's' : ''} for ${s.member}, reload`;
  steps.plan([...servers.map(stepName), ...(onRepositoryHost ? [REPOSITORY_SERVER_STEP] : []), VERIFY_STEP]);
  // One server at a time: a server whose reload went wrong stops the run before the next.
  const results: RotatedCertificate[] = [];
  for (const s of servers) {
    results.push(await steps.run(stepName(s), () => quick.rotateServerCertificate({ cluster, ...s })));
  }
  const repositoryServer = onRepositoryHost ? await steps.run(REPOSITORY_SERVER_STEP, () => quick.rotateRepositoryServerCertificate(cluster)) : null;
  const rotated = results.filter((r) => r.serial !== null);
  await steps.run(VERIFY_STEP, async () => {
    for (const r of rotated) {
      const kind = servers.find((s) => s.member === r.member)!.kind;
      const seen = await quick.presentedSerial({ cluster, member: r.member, kind });
      if (seen !== r.serial) throw new Error(`${r.member} still presents certificate ${seen}, not the new ${r.serial}`);
    }
  });
  return { cluster, rotated, skipped: results.filter((r) => r.serial === null).map((r) => r.member), ...(repositoryServer ? { repositoryServer } : {}) };
}
