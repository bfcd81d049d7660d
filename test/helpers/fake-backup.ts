/** A backup as pgBackRest's info reports it, for fakes of runBackup and backupStatus. */
import type { BackupSummary, StanzaSummary } from '../../common/backup';

export const madeBackup: BackupSummary = {
  label: '20261123-120000F', type: 'full', startedAt: '2026-11-23T12:00:00.000Z', stoppedAt: '2026-11-23T12:00:05.000Z', durationS: 5,
  databaseBytes: 1000, repositoryBytes: 100, walStart: 'A', walStop: 'A', lsnStart: '0/1', lsnStop: '0/2', prior: null, error: false,
};

export const stanzaStatus = (backups: BackupSummary[], statusCode = 0): StanzaSummary => ({
  stanza: 'orders', status: statusCode === 0 ? 'ok' : 'missing stanza path', statusCode, backupRunning: false, archiveMin: null, archiveMax: null, cipher: 'aes-256-cbc', backups,
});

// Captured from pgBackRest 2.45 after one full backup (values shortened where irrelevant).
/** `pgbackrest info --output=json` of stanza `demo`, as it prints it. */
export const PGBACKREST_INFO_JSON = JSON.stringify([{
  archive: [{ database: { id: 1, 'repo-key': 1 }, id: '15-1', max: '00000001000000000000000A', min: '000000010000000000000001' }],
  backup: [{
    archive: { start: '00000001000000000000000A', stop: '00000001000000000000000A' },
    backrest: { format: 5, version: '2.45' }, database: { id: 1, 'repo-key': 1 }, error: false,
    info: { delta: 23176621, repository: { delta: 3076939, size: 3076939 }, size: 23176621 },
    label: '20261123-113627F', lsn: { start: '0/A000028', stop: '0/A000138' }, prior: null, reference: null,
    timestamp: { start: 1795433787, stop: 1795433793 }, type: 'full',
  }],
  cipher: 'none', db: [{ id: 1, 'repo-key': 1, 'system-id': 7711326941440503836, version: '15' }], name: 'demo',
  repo: [{ cipher: 'none', key: 1, status: { code: 0, message: 'ok' } }],
  status: { code: 0, lock: { backup: { held: false } }, message: 'ok' },
}]);
