/** Why a member's PostgreSQL did not start: its FATAL line, out of a container log that also holds Patroni's lines and clients' refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastFatalLine } from '../../activities/postgres-log';

test('the server\'s last FATAL line, without its prefix; clients\' refusals while it stops or starts are not it', () => {
  const log = [
    '2024-05-01 10:00:00,001 INFO: no action. I am (pg-1), a secondary, and following a leader (pg-0)',
    '2024-05-01 10:00:01.100 UTC [412] FATAL:  the database system is shutting down',
    '2024-05-01 10:00:02.200 UTC [430] LOG:  starting PostgreSQL 17.2 on x86_64-pc-linux-gnu',
    '2024-05-01 10:00:02.210 UTC [430] FATAL:  could not map anonymous shared memory: Cannot allocate memory',
    '2024-05-01 10:00:02.210 UTC [430] HINT:  This error usually means that PostgreSQL\'s request for a shared memory segment exceeded available memory',
    '2024-05-01 10:00:02.300 UTC [431] FATAL:  the database system is starting up',
    '2024-05-01 10:00:03,000 ERROR: postmaster is not running',
  ].join('\n');
  assert.equal(lastFatalLine(log), 'FATAL: could not map anonymous shared memory: Cannot allocate memory');
  assert.equal(lastFatalLine('2024-05-01 UTC [9] LOG:  could not create Unix socket\n2024-05-01 UTC [9] PANIC:  could not write'), 'PANIC: could not write');
  assert.equal(lastFatalLine('INFO: all good\n'), undefined);
});
