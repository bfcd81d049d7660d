import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../../client/main';
import { UsageError } from '../../client/errors';
import { loadedPackages } from '../helpers/loaded-packages';

function everyCommand(c: Command): Command[] {
  return [c, ...c.commands.flatMap(everyCommand)];
}

test('building the program, its help and its usage errors load commander and no other package (no Temporal, Docker, gRPC, x509, yaml)', async () => {
  const program = buildProgram();
  for (const c of everyCommand(program)) assert.ok(c.helpInformation().length > 0);
  // Refused by an argument parser, and by an action before it loads what does the command.
  await assert.rejects(buildProgram().parseAsync(['node', 'dbaas', 'cluster', 'create', 'Bad_Name']), UsageError);
  await assert.rejects(buildProgram().parseAsync(['node', 'dbaas', 'cluster', 'resize', 'orders']), UsageError);
  await assert.rejects(buildProgram().parseAsync(['node', 'dbaas', 'backup', 'run', 'orders', '--type', 'weekly']), UsageError);
  await assert.rejects(buildProgram().parseAsync(['node', 'dbaas', 'upgrade', 'orders', '--to', '17', '--method', 'in-place', '--no-backup']), /--no-backup is for --method blue-green/);
  assert.deepEqual(loadedPackages(), ['commander'], 'a registration module imports an implementation: move the import into the action (`await import(…)`)');
});
