/** `dbaas connect NAME [--ro] [--pooled] [--member M] [--superuser | --user ROLE] [--database DB]`: a postgresql:// URI with credentials, for programs. */
import { connectionUri, resolveConnectionTarget, type EndpointFlags } from '../connection-target';

export async function connectCommand(name: string, o: EndpointFlags): Promise<void> {
  console.log(connectionUri(await resolveConnectionTarget(name, o)));
}
