/** The `upgradeStatus` query both upgrade workflows answer (see common/upgrade-status.ts). */
import { defineQuery, setHandler } from '@temporalio/workflow';
import { UPGRADE_STATUS_QUERY, type UpgradeStatus } from '../../common/upgrade-status';

export const upgradeStatusQuery = defineQuery<UpgradeStatus>(UPGRADE_STATUS_QUERY);

/** The run's status, kept current by the workflow and answered as a copy. */
export function reportUpgradeStatus(initial: UpgradeStatus): UpgradeStatus {
  const status = { ...initial };
  setHandler(upgradeStatusQuery, () => ({ ...status }));
  return status;
}
