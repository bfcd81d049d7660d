/** pg_settings rows as a member reports them, for tests of parameter decisions. */
import type { PgSetting } from '../../common/parameter-values';

export const settingRow = (name: string, r: Partial<PgSetting> = {}): PgSetting => ({
  name, setting: '0', shown: '0', unit: null, vartype: 'integer', enumvals: null, min_val: null, max_val: null,
  context: 'user', source: 'default', sourcefile: null, pending_restart: false, ...r,
});

/** The rows the parameters derived from a size are checked against (PostgreSQL 15's units and ranges). */
export const SIZE_SETTING_ROWS: PgSetting[] = [
  settingRow('shared_buffers', { unit: '8kB', min_val: '16', max_val: '1073741823', context: 'postmaster' }),
  settingRow('effective_cache_size', { unit: '8kB', min_val: '1', max_val: '2147483647' }),
  settingRow('work_mem', { unit: 'kB', min_val: '64', max_val: '2147483647' }),
  settingRow('maintenance_work_mem', { unit: 'kB', min_val: '1024', max_val: '2147483647' }),
  settingRow('max_connections', { setting: '100', min_val: '1', max_val: '262143', context: 'postmaster', source: 'command line' }),
  settingRow('superuser_reserved_connections', { setting: '3', min_val: '0', max_val: '262143', context: 'postmaster' }),
];
