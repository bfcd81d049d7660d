/** A backup as pgBackRest's info reports it, for fakes of runBackup and backupStatus. */
import type { BackupSummary, StanzaSummary } from '../../common/backup';

export const madeBackup: BackupSummary = {
  label: '20261123-120000F', type: 'full', startedAt: '2026-11-23T12:00:00.000Z', stoppedAt: '2026-11-23T12:00:05.000Z', durationS: 5,
  databaseBytes: 1000, repositoryBytes: 100, walStart: 'A', walStop: 'A', lsnStart: '0/1', lsnStop: '0/2', prior: null, error: false,
};

export const stanzaStatus = (backups: BackupSummary[], statusCode = 0): StanzaSummary => ({
  stanza: 'orders', status: statusCode === 0 ? 'ok' : 'missing stanza path', statusCode, backupRunning: false, archiveMin: null, archiveMax: null, cipher: 'aes-256-cbc', backups,
});
