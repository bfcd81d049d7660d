/** Placeholder. */
import type { Command } from 'commander';

export function registerEventsCommands(_cluster: Command): void {}
