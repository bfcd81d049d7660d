/** `dbaas connect NAME [--ro]`: a postgresql:// URI with credentials, for psql. */
import { DEFAULT_DATABASE, SUPERUSER } from '../../common/names';
import { resolvePaths } from '../../common/paths';
import { readClusterSecrets } from '../../activities/secrets';
import { clusterNames, clusterPorts } from '../cluster-info';
import { connectDocker } from '../connections';
import { OperationError, UsageError } from '../errors';

export async function connectCommand(name: string, o: { ro: boolean }): Promise<void> {
  const docker = await connectDocker();
  if (!(await clusterNames(docker)).includes(name)) throw new UsageError(`no cluster named ${name}`);
  const paths = resolvePaths();
  const ports = await clusterPorts(docker, paths, name);
  if (!ports) throw new OperationError(`cluster ${name} has no endpoints yet (is it still being created?)`);
  let password: string;
  try {
    password = readClusterSecrets(paths, name).superuser;
  } catch {
    throw new OperationError(`no credentials for cluster ${name} in ${paths.secrets}`);
  }
  const port = o.ro ? ports.ro : ports.rw;
  console.log(`postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DEFAULT_DATABASE}?sslmode=disable`);
}
