/** TOTP against the RFC 6238 Appendix B test vectors (and HOTP against RFC 4226 Appendix D). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode } from '../core/base32.js';
import { hotp, otpauthUri, totp, verifyTotp } from './totp.js';

const SHA1_SECRET = Buffer.from('12345678901234567890', 'ascii');
const SHA256_SECRET = Buffer.from('12345678901234567890123456789012', 'ascii');
const SHA512_SECRET = Buffer.from(
  '1234567890123456789012345678901234567890123456789012345678901234',
  'ascii',
);

// RFC 6238 Appendix B: time (s) → 8-digit TOTP for SHA1, SHA256, SHA512.
const VECTORS: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

test('RFC 6238 Appendix B vectors (8 digits, SHA1/SHA256/SHA512)', () => {
  for (const [t, sha1, sha256, sha512] of VECTORS) {
    assert.equal(totp(SHA1_SECRET, t * 1000, { digits: 8 }), sha1, `sha1 at ${t}`);
    assert.equal(totp(SHA256_SECRET, t * 1000, { digits: 8, algorithm: 'sha256' }), sha256, `sha256 at ${t}`);
    assert.equal(totp(SHA512_SECRET, t * 1000, { digits: 8, algorithm: 'sha512' }), sha512, `sha512 at ${t}`);
  }
});

test('the default (SHA1, 6 digits, 30 s) is the last 6 digits of the RFC vectors', () => {
  for (const [t, sha1] of VECTORS) assert.equal(totp(SHA1_SECRET, t * 1000), sha1.slice(2));
});

test('RFC 4226 Appendix D HOTP values', () => {
  const expected = [
    '755224',
    '287082',
    '359152',
    '969429',
    '338314',
    '254676',
    '287922',
    '162583',
    '399871',
    '520489',
  ];
  expected.forEach((code, counter) => assert.equal(hotp(SHA1_SECRET, counter), code));
});

test('verifyTotp accepts ±1 step of drift and returns the matched step', () => {
  const t = 1111111111 * 1000;
  const step = Math.floor(1111111111 / 30);
  assert.equal(verifyTotp(SHA1_SECRET, totp(SHA1_SECRET, t), t), step);
  assert.equal(verifyTotp(SHA1_SECRET, totp(SHA1_SECRET, t - 30_000), t), step - 1);
  assert.equal(verifyTotp(SHA1_SECRET, totp(SHA1_SECRET, t + 30_000), t), step + 1);
  assert.equal(verifyTotp(SHA1_SECRET, totp(SHA1_SECRET, t - 90_000), t), undefined);
  assert.equal(verifyTotp(SHA1_SECRET, '12345', t), undefined);
});

test('base32 round-trips and matches RFC 4648 §10', () => {
  assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
  assert.equal(base32Encode(Buffer.from('f')), 'MY');
  assert.equal(Buffer.from(base32Decode('mzxw6ytboi======')!).toString(), 'foobar');
  assert.equal(base32Decode('not base32!'), undefined);
  const bytes = Uint8Array.from({ length: 20 }, (_, i) => (i * 37) & 0xff);
  assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
});

test('otpauth URI carries secret, issuer and the parameters', () => {
  const uri = new URL(otpauthUri('PhotonCloud', 'bob@example.com', SHA1_SECRET));
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.searchParams.get('secret'), base32Encode(SHA1_SECRET));
  assert.equal(uri.searchParams.get('issuer'), 'PhotonCloud');
  assert.equal(uri.searchParams.get('digits'), '6');
  assert.equal(uri.searchParams.get('period'), '30');
  assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
});
