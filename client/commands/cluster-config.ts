/** Placeholder. */
import type { Command } from 'commander';

export function registerClusterConfigCommands(_cluster: Command): void {}
