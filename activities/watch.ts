/** Placeholder: filled in by the issue-4 work. */
import type Docker from 'dockerode';
import type { Paths } from '../common/paths';

export function createWatchActivities(_docker: Docker, _paths: Paths) {
  return {};
}
