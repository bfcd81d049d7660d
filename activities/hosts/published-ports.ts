/**
 * A member on an added host publishes its service ports on the host's address, each on a port
 * its engine picks: any worker reaches it there (the overlay it talks to its peers on is out of
 * reach from the host's own network). The inventory reads the ports back (Member.published).
 */
export interface PortPublishing {
  ExposedPorts: Record<string, object>;
  PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
}

/** Container create fields publishing `ports` on `address` (Docker picks the host ports), merged over `base`. */
export function publishedOn(address: string | undefined, ports: readonly number[], base: Partial<PortPublishing> = {}): Partial<PortPublishing> {
  if (address === undefined) return base;
  const exposed: Record<string, object> = { ...base.ExposedPorts };
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = { ...base.PortBindings };
  for (const p of ports) {
    exposed[`${p}/tcp`] = {};
    bindings[`${p}/tcp`] = [...(bindings[`${p}/tcp`] ?? []), { HostIp: address, HostPort: '' }];
  }
  return { ExposedPorts: exposed, PortBindings: bindings };
}
