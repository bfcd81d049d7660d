/** Placeholder. */
import type { Command } from 'commander';

export function registerPoolerCommands(_cluster: Command): void {}
