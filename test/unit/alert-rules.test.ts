/**
 * The shipped alert rules (prometheus/rules/dbaas.yml): promtool accepts them, their tests
 * (prometheus/rules/tests/) pass, and every alert has a test that sees it fire. Without promtool
 * the tests skip on a developer's machine and fail in CI (`dbaas dev up --no-server` installs it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { RULES_FILE, findPrometheusBinaries } from '../../client/dev/prometheus';

const TESTS_DIR = path.join(path.dirname(RULES_FILE), 'tests');
const inCi = ['true', '1'].includes(process.env.CI ?? '');
const promtool = findPrometheusBinaries()?.promtool;
const skip = promtool === undefined && !inCi ? 'no promtool (dbaas dev up installs it)' : false;

function run(args: string[]): Promise<{ code: number; output: string }> {
  assert.ok(promtool, 'promtool is not installed: `dbaas dev up --no-server` installs it (Debian package prometheus)');
  return new Promise((resolve) => {
    execFile(promtool, args, { cwd: TESTS_DIR }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, output: `${stdout}${stderr}` }));
  });
}

const testFiles = (): string[] => fs.readdirSync(TESTS_DIR).filter((f) => f.endsWith('.yml')).sort();

test('promtool check rules accepts the shipped rules', { skip }, async () => {
  const r = await run(['check', 'rules', RULES_FILE]);
  assert.equal(r.code, 0, r.output);
});

test('promtool test rules passes for every test file', { skip }, async () => {
  const r = await run(['test', 'rules', ...testFiles()]);
  assert.equal(r.code, 0, r.output);
  assert.equal((r.output.match(/SUCCESS/g) ?? []).length, testFiles().length, r.output);
});

test('every shipped alert has a test in which it fires', () => {
  const rules = parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
  const firing = new Set<string>();
  for (const f of testFiles()) {
    const doc = parse(fs.readFileSync(path.join(TESTS_DIR, f), 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
    for (const t of doc.tests) for (const a of t.alert_rule_test ?? []) if ((a.exp_alerts ?? []).length > 0) firing.add(a.alertname);
  }
  assert.ok(alerts.length >= 8, alerts.join(', '));
  assert.deepEqual(alerts.filter((a) => !firing.has(a)), [], 'alerts no test sees firing');
});
