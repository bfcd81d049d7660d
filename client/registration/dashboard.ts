/** `dbaas dashboard [--port N]`: its options and help, and the port `dev up` serves it on; client/commands/dashboard.ts serves it. */
import type { Command } from 'commander';
import { UsageError } from '../errors';

export const DEFAULT_DASHBOARD_PORT = 8300;

export function parseDashboardPort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1024 || n > 65535) throw new UsageError(`--port takes a port from 1024 to 65535, got "${v}"`);
  return n;
}

/** The port without --port (`dev up` serves the dashboard there too). */
export function dashboardPortSetting(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.DBAAS_DASHBOARD_PORT) || DEFAULT_DASHBOARD_PORT;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .option('--port <port>', `port on 127.0.0.1 (default ${DEFAULT_DASHBOARD_PORT}, or DBAAS_DASHBOARD_PORT)`, parseDashboardPort,
      dashboardPortSetting())
    .description('serve the read-only dashboard (clusters, members, charts, alerts, events) on 127.0.0.1')
    .exitOverride()
    .action(async (o: { port: number }) => (await import('../commands/dashboard')).dashboardCommand(o));
}
