/**
 * Password hashing: argon2id with OWASP's minimum parameters (Password Storage Cheat Sheet: m=19 MiB,
 * t=2, p=1), via @node-rs/argon2 (native, off the event loop). Hashes are PHC strings, so parameters
 * travel with each hash and can be raised later without breaking old ones (`needsRehash`).
 */
import { hash, verify } from '@node-rs/argon2';

/** argon2id parameters in use. */
export const ARGON2_PARAMS = Object.freeze({
  /** Algorithm.Argon2id (a const enum, which isolated modules cannot read). */
  algorithm: 2 as const,
  /** KiB (19 MiB). */
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
});

/** Hash a password (random 16-byte salt). */
export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS);
}

/** True when `password` matches `phc`. A malformed hash never matches (and never throws). */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

/** True when `phc` was made with weaker parameters than today's (re-hash on the next successful login). */
export function needsRehash(phc: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (m === null) return true;
  return (
    Number(m[1]) < ARGON2_PARAMS.memoryCost ||
    Number(m[2]) < ARGON2_PARAMS.timeCost ||
    Number(m[3]) !== ARGON2_PARAMS.parallelism
  );
}

/**
 * A hash of a random password, verified against when the username is unknown, so that the response
 * time does not tell which usernames exist.
 */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(`decoy-${Math.random()}-${Date.now()}`);
  return decoy;
}
