/**
 * IAM's signing keys: Ed25519 key pairs kept in the Store (`/photoncloud/iam/signing-keys/<kid>`, the
 * active one named by `/photoncloud/iam/signing-active`), so every IAM process signs with the same key
 * and a rotation done by one is seen by all (a store watch reloads them).
 *
 * Rotation: a new key becomes active at once; the previous key stays in the JWKS until every token it
 * signed has expired (`retires_at` = rotation time + the longest token lifetime + clock slack).
 *
 * Risk (documented in docs/iam.md): the private key is stored as a JWK in the Store. Anyone who can
 * read `/photoncloud/iam/signing-keys/` (ChainFire's KV API or its etcd gRPC port) can mint tokens.
 * When a key-encryption key is configured (`kek`, IAM keeps one in its data dir, mode 0600) the
 * private JWK is sealed with AES-256-GCM, so a store reader alone cannot use it.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWK, JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Logger } from '@photoncloud/log';
import { bytes, prefixEnd } from '@photoncloud/store';
import type { Watcher } from '@photoncloud/store';
import type { JsonStore } from '../storage/json-store.js';
import { K, IAM_PREFIX } from '../storage/keys.js';

/** A signing key as stored. */
export interface StoredSigningKey {
  kid: string;
  alg: 'EdDSA';
  public_jwk: JWK;
  /** Plain private JWK (no KEK configured) … */
  private_jwk?: JWK;
  /** … or the private JWK sealed with the KEK: base64 of iv(12) | tag(16) | ciphertext. */
  sealed_private_jwk?: string;
  created_at: number;
  /** Epoch ms after which the key leaves the JWKS (set when it is rotated out). */
  retires_at?: number;
}

type SigningKeyObject = Awaited<ReturnType<typeof importJWK>>;

interface LoadedKey {
  stored: StoredSigningKey;
  privateKey?: SigningKeyObject;
}

/** Options of `Keyring`. */
export interface KeyringOptions {
  issuer: string;
  /** Longest lifetime of any token this IAM signs, seconds (how long a rotated-out key must stay). */
  maxTokenTtlSeconds: number;
  /** 32-byte key-encryption key for private JWKs at rest. */
  kek?: Uint8Array;
  logger?: Logger;
  now?: () => number;
}

function seal(kek: Uint8Array, plain: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
}

function unseal(kek: Uint8Array, sealed: string): string {
  const buf = Buffer.from(sealed, 'base64');
  const d = createDecipheriv('aes-256-gcm', kek, buf.subarray(0, 12));
  d.setAuthTag(buf.subarray(12, 28));
  return Buffer.concat([d.update(buf.subarray(28)), d.final()]).toString('utf8');
}

/** Signs and verifies IAM's tokens with keys kept in the Store. */
export class Keyring {
  private keys = new Map<string, LoadedKey>();
  private activeKid: string | undefined;
  private set: JSONWebKeySet = { keys: [] };
  private getKey: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  private watcher: Watcher | undefined;
  private readonly now: () => number;
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private readonly json: JsonStore,
    private readonly opts: KeyringOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Load the keys (creating the first one when there is none) and follow changes. */
  async start(): Promise<void> {
    await this.reload();
    if (this.activeKid === undefined) {
      await this.createKey(true);
      await this.reload();
    }
    const prefix = bytes(`${IAM_PREFIX}signing-`);
    this.watcher = await this.json.store.watch({ key: prefix, rangeEnd: prefixEnd(prefix) }, () => {
      this.reloading = this.reloading.then(
        () => this.reload(),
        () => this.reload(),
      );
      this.reloading.catch((err: unknown) => this.opts.logger?.error({ err }, 'signing keys reload failed'));
    });
  }

  /** Stop following changes. */
  async close(): Promise<void> {
    await this.watcher?.cancel();
    await this.reloading.catch(() => undefined);
  }

  /** The kid new tokens are signed with. */
  get currentKid(): string {
    if (this.activeKid === undefined) throw new Error('keyring not started');
    return this.activeKid;
  }

  /** The public keys tokens may be signed with (active + rotated-out ones not yet retired). */
  jwks(): JSONWebKeySet {
    this.rebuildSetIfStale();
    return this.set;
  }

  private async reload(): Promise<void> {
    const docs = await this.json.list<StoredSigningKey>(K.signingKeys);
    const active = await this.json.get<{ kid: string }>(K.activeKey);
    const next = new Map<string, LoadedKey>();
    for (const { value } of docs) {
      const old = this.keys.get(value.kid);
      next.set(value.kid, {
        stored: value,
        ...(old?.privateKey === undefined ? {} : { privateKey: old.privateKey }),
      });
    }
    this.keys = next;
    this.activeKid = active?.value.kid;
    this.rebuildSet();
  }

  private rebuildSet(): void {
    const now = this.now();
    const keys = [...this.keys.values()]
      .filter((k) => k.stored.kid === this.activeKid || (k.stored.retires_at ?? Infinity) > now)
      .map((k) => ({ ...k.stored.public_jwk, kid: k.stored.kid, alg: 'EdDSA', use: 'sig' }));
    this.set = { keys };
    this.getKey = createLocalJWKSet(this.set);
  }

  /** Generate a key pair, store it, and (when `activate`) make it the active key if none is. */
  private async createKey(onlyIfNoActive: boolean): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `key-${new Date(this.now()).toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
    const privateJwk = await exportJWK(privateKey);
    const stored: StoredSigningKey = {
      kid,
      alg: 'EdDSA',
      public_jwk: await exportJWK(publicKey),
      created_at: this.now(),
      ...(this.opts.kek === undefined
        ? { private_jwk: privateJwk }
        : { sealed_private_jwk: seal(this.opts.kek, JSON.stringify(privateJwk)) }),
    };
    const activeKey = bytes(K.activeKey);
    const res = await this.json.store.txn({
      compare: onlyIfNoActive
        ? [{ key: activeKey, target: 'create', createRevision: 0, result: 'equal' }]
        : [],
      success: [
        { put: { key: bytes(K.signingKey(kid)), value: bytes(JSON.stringify(stored)) } },
        { put: { key: activeKey, value: bytes(JSON.stringify({ kid })) } },
      ],
      failure: [],
    });
    if (res.succeeded) this.opts.logger?.info({ kid }, 'new token signing key');
    return kid;
  }

  /**
   * Rotate: a new key signs from now on; the previous one stays published until its tokens expire.
   * Keys retired long ago are deleted.
   */
  async rotate(): Promise<{ kid: string; previous_kid?: string; previous_retires_at?: number }> {
    const previous = this.activeKid;
    const kid = await this.createKey(false);
    const retiresAt = this.now() + (this.opts.maxTokenTtlSeconds + 60) * 1000;
    if (previous !== undefined) {
      await this.json.update<StoredSigningKey>(K.signingKey(previous), (cur) =>
        cur === undefined ? undefined : { ...cur.value, retires_at: retiresAt },
      );
    }
    for (const [oldKid, k] of this.keys) {
      if (oldKid !== previous && oldKid !== kid && (k.stored.retires_at ?? Infinity) < this.now()) {
        await this.json.delete(K.signingKey(oldKid));
      }
    }
    await this.reload();
    return previous === undefined ? { kid } : { kid, previous_kid: previous, previous_retires_at: retiresAt };
  }

  private async privateKeyOf(kid: string): Promise<SigningKeyObject> {
    const k = this.keys.get(kid);
    if (k === undefined) throw new Error(`signing key ${kid} is not loaded`);
    if (k.privateKey !== undefined) return k.privateKey;
    let jwk: JWK;
    if (k.stored.private_jwk !== undefined) jwk = k.stored.private_jwk;
    else if (k.stored.sealed_private_jwk !== undefined) {
      if (this.opts.kek === undefined)
        throw new Error(`signing key ${kid} is sealed and no KEK is configured`);
      jwk = JSON.parse(unseal(this.opts.kek, k.stored.sealed_private_jwk)) as JWK;
    } else throw new Error(`signing key ${kid} has no private part`);
    k.privateKey = await importJWK(jwk, 'EdDSA');
    return k.privateKey;
  }

  /** Sign `claims` (sub, jti, org/project, roles, …) for `ttlSeconds`; returns the JWT and its expiry. */
  async sign(claims: JWTPayload, ttlSeconds: number): Promise<{ token: string; exp: number; iat: number }> {
    const kid = this.currentKid;
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
      .setIssuer(this.opts.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(await this.privateKeyOf(kid));
    return { token, exp, iat };
  }

  /** Verify a token against the published keys (signature, issuer, expiry); throws jose errors. */
  async verify(token: string): Promise<JWTPayload> {
    // Retirement is time-based: refresh the published set when a key's time has passed.
    this.rebuildSetIfStale();
    const { payload } = await jwtVerify(token, this.getKey, {
      algorithms: ['EdDSA'],
      issuer: this.opts.issuer,
      clockTolerance: 5,
      currentDate: new Date(this.now()),
    });
    return payload;
  }

  private rebuildSetIfStale(): void {
    const now = this.now();
    for (const k of this.set.keys) {
      const stored = k.kid === undefined ? undefined : this.keys.get(k.kid)?.stored;
      if (stored?.retires_at !== undefined && stored.retires_at <= now && stored.kid !== this.activeKid) {
        this.rebuildSet();
        return;
      }
    }
  }
}
