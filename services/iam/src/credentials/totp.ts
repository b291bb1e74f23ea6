/**
 * TOTP (RFC 6238) over HOTP (RFC 4226): HMAC-SHA1, 6 digits, 30-second steps — what every authenticator
 * app does by default. Verification accepts one step of clock drift either way.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { base32Encode } from '../core/base32.js';

/** TOTP parameters. */
export interface TotpOptions {
  /** Digits per code; default 6. */
  digits?: number;
  /** Step in seconds; default 30. */
  period?: number;
  /** HMAC hash; default sha1 (RFC 6238 also defines sha256/sha512). */
  algorithm?: 'sha1' | 'sha256' | 'sha512';
}

/** HOTP value for `counter` (RFC 4226 §5.3, dynamic truncation). */
export function hotp(secret: Uint8Array, counter: number, opts: TotpOptions = {}): string {
  const digits = opts.digits ?? 6;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(opts.algorithm ?? 'sha1', secret)
    .update(msg)
    .digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin =
    ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** TOTP code at `timeMs` (RFC 6238 §4: T = floor(unix seconds / period)). */
export function totp(secret: Uint8Array, timeMs: number, opts: TotpOptions = {}): string {
  return hotp(secret, Math.floor(timeMs / 1000 / (opts.period ?? 30)), opts);
}

/**
 * The time step `code` matches at `timeMs` (±`window` steps), or `undefined`. Callers store the last
 * accepted step and refuse it again, so a code cannot be replayed.
 */
export function verifyTotp(
  secret: Uint8Array,
  code: string,
  timeMs: number,
  window = 1,
  opts: TotpOptions = {},
): number | undefined {
  const step = Math.floor(timeMs / 1000 / (opts.period ?? 30));
  const given = Buffer.from(code);
  for (let d = -window; d <= window; d++) {
    const expected = Buffer.from(hotp(secret, step + d, opts));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return step + d;
  }
  return undefined;
}

/** A new random 160-bit secret (RFC 4226 recommends the HMAC-SHA1 output length). */
export function newTotpSecret(): Uint8Array {
  return randomBytes(20);
}

/** The `otpauth://totp/…` URI authenticator apps scan (Key Uri Format). */
export function otpauthUri(issuer: string, account: string, secret: Uint8Array): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: 'SHA1',
    digits: '6',
    period: '30',
  });
  return `otpauth://totp/${label}?${params.toString()}`;
}
