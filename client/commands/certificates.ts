/** `dbaas cluster rotate-certs NAME`: new certificates for every member (PostgreSQL, pgBackRest), pooler and the stanza's server on the repository host. */
import { securityWorkflowIds } from '../../common/workflow-ids';
import { resolvePaths } from '../../common/paths';
import { requireLiveCluster } from '../cluster-info';
import { clientTlsParams } from '../client-tls';
import { connectInventory } from '../connections';
import { UsageError } from '../errors';
import type { rotateCertificates, RotateCertificatesResult } from '../../workflows';
import { followRun, startOrAttachRun } from '../operation-run';
import { connectGateway } from '../temporal/connect';

export async function rotateCertificatesCommand(cluster: string): Promise<void> {
  const inv = await connectInventory();
  await requireLiveCluster(inv, cluster);
  if (clientTlsParams(resolvePaths(), cluster).sslmode === 'disable') {
    throw new UsageError(`cluster ${cluster} was made without TLS (it has no certificate authority): there are no certificates to rotate`);
  }
  const gateway = await connectGateway();
  try {
    const { run: handle } = await startOrAttachRun<typeof rotateCertificates>(
      gateway, 'rotateCertificates', securityWorkflowIds.rotateCertificates(cluster), cluster, [cluster],
      { running: `the certificates of ${cluster} are being rotated`, starting: `rotating the certificates of ${cluster}` },
      async () => undefined,
    );
    const r = await followRun<RotateCertificatesResult>(gateway, handle, `rotate the certificates of ${cluster}`);
    console.log(`${cluster}: new certificates on ${r.rotated.map((x) => x.member).join(', ')}${r.repositoryServer ? ' and its stanza\'s server on the repository host' : ''}; the CA is unchanged (clients keep their sslrootcert)`);
    if (r.skipped.length > 0) console.log(`  not running, new certificate when started: ${r.skipped.join(', ')}`);
  } finally {
    await gateway.close();
  }
}
