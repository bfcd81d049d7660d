/**
 * The dashboard as a user opens it: `dbaas dashboard --port <free port>` as a child process
 * (the test's Temporal, state dir and Prometheus), and Debian's chromium driven headless by
 * playwright-core, keeping every response the page received so a test can read them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../common/paths';
import { eventually, waitForExit } from './deadline';
import { freePort } from './prometheus';

/** Debian's chromium (`scripts/test.sh` installs it); playwright-core downloads no browser here. */
export const CHROMIUM = '/usr/bin/chromium';

/** Screenshots and other files a test leaves to look at (git ignores it). */
export const TEST_OUTPUT_DIR = path.join(PROJECT_ROOT, 'test-results');

export function chromiumSkipReason(): string | false {
  const inCi = ['true', '1'].includes(process.env.CI ?? '');
  return !fs.existsSync(CHROMIUM) && !inCi ? `no ${CHROMIUM} (Debian: apt-get install --no-install-recommends chromium)` : false;
}

export interface TestDashboard {
  /** http://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
}

/** `dbaas dashboard` on a free port, with `env` (childEnv of the test) and the test's Prometheus; resolves once it listens. */
export async function startDashboardCli(env: NodeJS.ProcessEnv, prometheusUrl: string): Promise<TestDashboard> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'dbaas.js'), 'dashboard', '--port', String(port)], {
    env: { ...env, DBAAS_PROMETHEUS_URL: prometheusUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let said = '';
  child.stdout?.on('data', (d: Buffer) => { said += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { said += d.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await waitForExit(child, 15_000, 'the dashboard to stop');
  };
  try {
    await eventually('`dbaas dashboard` listening', async () => {
      if (child.exitCode !== null) throw new Error(`dbaas dashboard exited (${child.exitCode}): ${said}`);
      return said.includes(`${url}/`) ? true : undefined;
    }, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

/** A body the page received, with the URL it came from. */
export interface Served {
  url: string;
  status: number;
  body: string;
}

export interface DashboardBrowser {
  page: Page;
  /** Every response the page received so far (its HTML, scripts, styles, API answers). */
  served(): Promise<Served[]>;
  close(): Promise<void>;
}

export async function openInChromium(url: string): Promise<DashboardBrowser> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const responses: Promise<Served>[] = [];
    page.on('response', (r) => {
      responses.push(r.text().then((body) => ({ url: r.url(), status: r.status(), body }), () => ({ url: r.url(), status: r.status(), body: '' })));
    });
    await page.goto(url);
    return { page, served: () => Promise.all(responses), close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
