/** `dbaas connect NAME [--ro]`: a postgresql:// URI with credentials, for psql. */
import { DEFAULT_DATABASE, SUPERUSER } from '../../common/names';
import { resolvePaths } from '../../common/paths';
import { readClusterSecrets } from '../../activities/secrets';
import { requireLiveCluster, clusterPorts, clusterStatus } from '../cluster-info';
import { connectDocker } from '../connections';
import { OperationError, UsageError } from '../errors';
import { clientTlsParams, uriTlsQuery } from '../client-tls';

export async function connectCommand(name: string, o: { ro: boolean; member?: string; pooled: boolean }): Promise<void> {
  if (o.member && (o.ro || o.pooled)) throw new UsageError('--member excludes --ro and --pooled');
  const docker = await connectDocker();
  await requireLiveCluster(docker, name);
  const paths = resolvePaths();
  const ports = await clusterPorts(docker, paths, name);
  if (!ports) throw new OperationError(`cluster ${name} has no endpoints yet (is it still being created?)`);
  let password: string;
  try {
    password = readClusterSecrets(paths, name).superuser;
  } catch {
    throw new OperationError(`no credentials for cluster ${name} in ${paths.secrets}`);
  }
  let port = o.pooled ? (o.ro ? ports.pooledRo : ports.pooledRw) : o.ro ? ports.ro : ports.rw;
  if (o.member) {
    const m = (await clusterStatus(docker, paths, name)).members.find((x) => x.name === o.member);
    if (!m) throw new UsageError(`no member ${o.member} in cluster ${name}`);
    if (m.port === null) throw new OperationError(`${o.member} has no direct port`);
    port = m.port;
  }
  console.log(`postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DEFAULT_DATABASE}?${uriTlsQuery(clientTlsParams(paths, name))}`);
}
