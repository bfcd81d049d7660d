/** Placeholder. */
import type { Command } from 'commander';

export function registerSwitchoverCommands(_program: Command): void {}
