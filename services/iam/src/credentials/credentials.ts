/**
 * Credentials: passwords (argon2id), TOTP second factors and login lockout, all in the Store
 * (`/photoncloud/iam/credentials/<user>`, `/photoncloud/iam/lockout/<user>`).
 *
 * Lockout answers 429 RATE_LIMITED with `Retry-After` (the patterns table's code for "too many
 * requests"; 423 is not in it): after `maxFailures` consecutive failed logins (wrong password or wrong
 * TOTP code) the account refuses logins for `lockSeconds`, whatever the password. Counters live in the
 * Store, so every IAM process enforces the same lock.
 */
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
  ValidationError,
} from '@photoncloud/errors';
import { base32Decode, base32Encode } from '../core/base32.js';
import { DEFAULT_LOCKOUT, afterFailure, lockRemainingSeconds } from '../core/lockout.js';
import type { LockoutPolicy, LockoutState } from '../core/lockout.js';
import type { Directory, StoredUser } from '../storage/directory.js';
import { K } from '../storage/keys.js';
import { decoyHash, hashPassword, needsRehash, verifyPassword } from './password.js';
import { newTotpSecret, otpauthUri, verifyTotp } from './totp.js';

/** A credential document. */
export interface StoredCredential {
  password_hash?: string;
  password_updated_at?: string;
  totp?: {
    /** Base32 secret. */
    secret: string;
    confirmed: boolean;
    /** Last accepted time step, so a code cannot be used twice. */
    last_step?: number;
  };
}

/** Options of `Credentials`. */
export interface CredentialsOptions {
  lockout?: LockoutPolicy;
  /** Shown in authenticator apps. */
  issuerName?: string;
  now?: () => number;
}

/** Passwords, TOTP and lockout. */
export class Credentials {
  private readonly now: () => number;
  readonly lockout: LockoutPolicy;

  constructor(
    private readonly dir: Directory,
    private readonly opts: CredentialsOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.lockout = opts.lockout ?? DEFAULT_LOCKOUT;
  }

  private get json() {
    return this.dir.json;
  }

  private async credential(userId: string): Promise<StoredCredential> {
    return (await this.json.get<StoredCredential>(K.credential(userId)))?.value ?? {};
  }

  /**
   * Set a user's password. When `currentPassword` is required (a user changing their own) and the user
   * has one, it must match (403 otherwise).
   */
  async setPassword(
    userId: string,
    password: string,
    check?: { currentPassword: string | undefined },
  ): Promise<void> {
    await this.dir.getUser(userId);
    const cred = await this.credential(userId);
    if (check !== undefined && cred.password_hash !== undefined) {
      if (check.currentPassword === undefined) {
        throw new ValidationError(
          'current_password',
          'required',
          'current_password is required to change your password',
        );
      }
      if (!(await verifyPassword(cred.password_hash, check.currentPassword))) {
        throw new ForbiddenError('current_password is not correct');
      }
    }
    const hash = await hashPassword(password);
    await this.json.update<StoredCredential>(K.credential(userId), (cur) => ({
      ...(cur?.value ?? {}),
      password_hash: hash,
      password_updated_at: new Date(this.now()).toISOString(),
    }));
    await this.dir.updateUser(userId, (u) => ({ ...u, has_password: true }));
  }

  /** Start TOTP enrolment: a new secret (not yet required at login until confirmed). */
  async enrollTotp(userId: string): Promise<{ secret: string; otpauth_uri: string }> {
    const user = await this.dir.getUser(userId);
    const cred = await this.credential(userId);
    if (cred.totp?.confirmed === true) {
      throw new ConflictError('TOTP is already enabled for this user', {
        hint: `DELETE /api/v1/users/${userId}/mfa/totp first to replace it`,
      });
    }
    const secret = newTotpSecret();
    await this.json.update<StoredCredential>(K.credential(userId), (cur) => ({
      ...(cur?.value ?? {}),
      totp: { secret: base32Encode(secret), confirmed: false },
    }));
    return {
      secret: base32Encode(secret),
      otpauth_uri: otpauthUri(this.opts.issuerName ?? 'PhotonCloud', user.email ?? user.id, secret),
    };
  }

  /** Confirm enrolment with a current code; from then on login needs a code. */
  async confirmTotp(userId: string, code: string): Promise<void> {
    await this.dir.getUser(userId);
    const cred = await this.credential(userId);
    if (cred.totp === undefined)
      throw new NotFoundError('totp enrolment', userId, { hint: 'POST …/mfa/totp first' });
    if (cred.totp.confirmed) throw new ConflictError('TOTP is already confirmed');
    const secret = base32Decode(cred.totp.secret);
    const step = secret === undefined ? undefined : verifyTotp(secret, code, this.now());
    if (step === undefined)
      throw new ValidationError('code', 'totp', 'The code does not match; check the device clock');
    await this.json.update<StoredCredential>(K.credential(userId), (cur) => ({
      ...(cur?.value ?? {}),
      totp: { secret: cred.totp!.secret, confirmed: true, last_step: step },
    }));
    await this.dir.updateUser(userId, (u) => ({ ...u, mfa_enabled: true }));
  }

  /** Remove the TOTP factor. */
  async disableTotp(userId: string): Promise<void> {
    await this.dir.getUser(userId);
    await this.json.update<StoredCredential>(K.credential(userId), (cur) => {
      if (cur?.value.totp === undefined) return undefined;
      const { totp: _t, ...rest } = cur.value;
      return rest;
    });
    await this.dir.updateUser(userId, (u) => ({ ...u, mfa_enabled: false }));
  }

  /** Current lockout state of an account. */
  async lockState(userId: string): Promise<LockoutState | undefined> {
    return (await this.json.get<LockoutState>(K.lockout(userId)))?.value;
  }

  private async recordFailure(userId: string): Promise<number> {
    const next = await this.json.update<LockoutState>(K.lockout(userId), (cur) =>
      afterFailure(cur?.value, this.now(), this.lockout),
    );
    return lockRemainingSeconds(next, this.now());
  }

  private locked(seconds: number): RateLimitedError {
    return new RateLimitedError(
      `Account locked after ${this.lockout.maxFailures} failed logins; try again in ${seconds} s`,
      seconds,
      {
        details: { locked_for_seconds: seconds },
        hint: 'An administrator can reset the password to unlock it sooner',
      },
    );
  }

  /**
   * Check a login. Returns the user; throws 401 (wrong credentials, MFA code needed), 403 (disabled) or
   * 429 (locked). Unknown usernames cost the same argon2 verification as known ones.
   */
  async checkLogin(username: string, password: string, mfaCode?: string): Promise<StoredUser> {
    const invalid = () => new UnauthorizedError('Invalid username or password');
    const user = await this.dir.findByLogin(username);
    if (user === undefined) {
      await verifyPassword(await decoyHash(), password);
      throw invalid();
    }
    const remaining = lockRemainingSeconds(await this.lockState(user.id), this.now());
    if (remaining > 0) throw this.locked(remaining);
    const cred = await this.credential(user.id);
    const ok = cred.password_hash !== undefined && (await verifyPassword(cred.password_hash, password));
    if (!ok) {
      if (cred.password_hash === undefined) await verifyPassword(await decoyHash(), password);
      const lockedFor = await this.recordFailure(user.id);
      if (lockedFor > 0) throw this.locked(lockedFor);
      throw invalid();
    }
    if (cred.totp?.confirmed === true) {
      if (mfaCode === undefined) {
        throw new UnauthorizedError('A TOTP code is required (mfa_code)', {
          details: { mfa_required: true },
        });
      }
      const secret = base32Decode(cred.totp.secret);
      const step = secret === undefined ? undefined : verifyTotp(secret, mfaCode, this.now());
      if (step === undefined || (cred.totp.last_step !== undefined && step <= cred.totp.last_step)) {
        const lockedFor = await this.recordFailure(user.id);
        if (lockedFor > 0) throw this.locked(lockedFor);
        throw new UnauthorizedError('Invalid TOTP code', { details: { mfa_required: true } });
      }
      await this.json.update<StoredCredential>(K.credential(user.id), (cur) =>
        cur?.value.totp === undefined
          ? undefined
          : { ...cur.value, totp: { ...cur.value.totp, last_step: step } },
      );
    }
    if (user.status !== 'active') throw new ForbiddenError(`User ${user.id} is disabled`);
    await this.json.delete(K.lockout(user.id));
    if (needsRehash(cred.password_hash!)) {
      const rehashed = await hashPassword(password);
      await this.json.update<StoredCredential>(K.credential(user.id), (cur) => ({
        ...(cur?.value ?? {}),
        password_hash: rehashed,
      }));
    }
    return this.dir.updateUser(user.id, (u) => ({
      ...u,
      last_login: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }));
  }

  /** Clear a lock (an administrator resetting a password unlocks the account). */
  async unlock(userId: string): Promise<void> {
    await this.json.delete(K.lockout(userId));
  }
}
