/**
 * prometheus.yml for the local Prometheus (`dev up`, and tests' own). Pure. One scrape job per
 * component: each reads every cluster's target file and keeps its own component, so a new
 * cluster or member is scraped as soon as its file is written, without a reload. The worker's
 * endpoints are fixed: static targets.
 */
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { HostName } from '../../common/inventory';
import { FILE_SD_COMPONENTS } from '../../activities/scrape-target-groups';

/** Seconds between scrapes and between rule evaluations (the alert rules' `for` periods assume it). */
export const SCRAPE_INTERVAL_S = 10;
/** A member that does not answer within this is down for the scrape; Patroni and the exporters answer in milliseconds. */
const SCRAPE_TIMEOUT_S = 5;

/** One of the worker's own endpoints. dbaas: backup and volume facts; worker: the Temporal SDK's metrics. */
export interface StaticTarget {
  component: 'dbaas' | 'worker';
  address: string;
  host: HostName;
}

export interface PrometheusConfigInput {
  /** Where the `<cluster>.json` files are (absolute). */
  targetsDir: string;
  /** Alert rule files (absolute). */
  ruleFiles: string[];
  staticTargets: StaticTarget[];
  /** Tests may scrape faster; default SCRAPE_INTERVAL_S. */
  intervalS?: number;
}

export function renderPrometheusConfig(i: PrometheusConfigInput): string {
  const intervalS = i.intervalS ?? SCRAPE_INTERVAL_S;
  const fileJobs = FILE_SD_COMPONENTS.map((component) => ({
    job_name: component,
    file_sd_configs: [{ files: [path.join(i.targetsDir, '*.json')] }],
    relabel_configs: [{ source_labels: ['component'], regex: component, action: 'keep' }],
  }));
  const staticJobs = [...new Set(i.staticTargets.map((t) => t.component))].map((component) => ({
    job_name: component,
    static_configs: i.staticTargets
      .filter((t) => t.component === component)
      .map((t) => ({ targets: [t.address], labels: { host: t.host, component } })),
  }));
  const doc = {
    global: {
      scrape_interval: `${intervalS}s`,
      scrape_timeout: `${Math.min(intervalS, SCRAPE_TIMEOUT_S)}s`,
      evaluation_interval: `${intervalS}s`,
    },
    rule_files: i.ruleFiles,
    scrape_configs: [...fileJobs, ...staticJobs],
  };
  return `# Written by dbaas (client/dev/prometheus-yml.ts): \`dbaas dev up\` writes it anew.\n${stringify(doc)}`;
}
