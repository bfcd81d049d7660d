import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { scramSha256Verifier, scramVerifierMatches } from '../../activities/scram';

// RFC 7677 section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
const RFC_SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const NONCE = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const AUTH_MESSAGE = `n=user,r=${CLIENT_NONCE},r=${NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${NONCE}`;
const RFC_CLIENT_PROOF = 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const RFC_SERVER_SIGNATURE = '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

const hmac = (key: Buffer, text: string): Buffer => crypto.createHmac('sha256', key).update(text).digest();

test('the verifier of RFC 7677\'s example lets a server check its client proof and sign as in the RFC', () => {
  const verifier = scramSha256Verifier('pencil', RFC_SALT);
  const m = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  assert.ok(m, verifier);
  assert.equal(m[1], 'W22ZaJ0SNY7soEsUEjb6gQ==');
  const storedKey = Buffer.from(m[2], 'base64');
  const serverKey = Buffer.from(m[3], 'base64');
  // The server's side of the exchange: ClientKey = proof XOR HMAC(StoredKey, AuthMessage), and H(ClientKey) = StoredKey.
  const signature = hmac(storedKey, AUTH_MESSAGE);
  const clientKey = Buffer.from(RFC_CLIENT_PROOF, 'base64').map((b, i) => b ^ signature[i]);
  assert.deepEqual(crypto.createHash('sha256').update(clientKey).digest(), storedKey);
  assert.equal(hmac(serverKey, AUTH_MESSAGE).toString('base64'), RFC_SERVER_SIGNATURE);
  assert.equal(verifier, 'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=');
});

test('each verifier has a fresh 16-byte salt; a verifier matches its own password only', () => {
  const a = scramSha256Verifier('s3cret-Password_x');
  const b = scramSha256Verifier('s3cret-Password_x');
  assert.notEqual(a, b);
  assert.equal(Buffer.from(a.split('$')[1].split(':')[1], 'base64').length, 16);
  assert.ok(!a.includes('s3cret'));
  assert.ok(scramVerifierMatches('s3cret-Password_x', a));
  assert.ok(scramVerifierMatches('s3cret-Password_x', b));
  assert.ok(!scramVerifierMatches('s3cret-Password_y', a));
  // What a role may hold instead: no password, md5, garbage.
  for (const stored of [null, undefined, '', 'md5' + 'a'.repeat(32), 'SCRAM-SHA-256$x:y$z:w']) assert.ok(!scramVerifierMatches('p', stored));
});
