/** Confirmation for what cannot be undone: the user types the name, or says `--yes` where no terminal can ask. */
import * as readline from 'node:readline/promises';
import { UsageError } from './errors';

export async function confirmByName(what: string, name: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UsageError(`${what} ${name} needs --yes when there is no terminal to confirm on; nothing was changed`);
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const typed = (await rl.question(`${what} ${name}: type the name to confirm: `)).trim();
    if (typed !== name) throw new UsageError(`"${typed}" is not ${name}; nothing was changed`);
  } finally {
    rl.close();
  }
}
