/**
 * S3 access keys (access key ID → secret, owner) in the control-plane Store under
 * `/photoncloud/lightningstor/keys/<id>`. The first start creates an admin (root) key pair and writes
 * it to `<dataDir>/root-credentials.json` (mode 0600).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import type { Logger } from '@photoncloud/log';

/** Key prefix in the Store. */
export const KEYS_PREFIX = '/photoncloud/lightningstor/keys/';

/** A stored access key. */
export interface AccessKey {
  access_key_id: string;
  secret_access_key: string;
  /** Principal that owns buckets created with this key. */
  owner: string;
  org_id?: string;
  project_id?: string;
  /** Sees and manages every bucket. */
  is_admin: boolean;
  description?: string;
  created_at: string;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomId(): string {
  const b = randomBytes(18);
  let s = 'LS';
  for (const x of b) s += ID_ALPHABET[x & 31];
  return s;
}

/** Create, look up and delete access keys. */
export class KeyStore {
  constructor(private readonly store: Store) {}

  /** A key by ID, if it exists. */
  async get(id: string): Promise<AccessKey | undefined> {
    if (id === '' || id.length > 128) return undefined;
    const r = await this.store.range({ key: bytes(KEYS_PREFIX + id) });
    const kv = r.kvs[0];
    return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as AccessKey);
  }

  /** Every key (at most `limit`), by ID. */
  async list(limit = 1000): Promise<AccessKey[]> {
    const start = bytes(KEYS_PREFIX);
    const r = await this.store.range({ key: start, rangeEnd: prefixEnd(start), limit });
    return r.kvs.map((kv) => JSON.parse(text(kv.value)) as AccessKey);
  }

  /** Store a key as given. */
  async put(key: AccessKey): Promise<void> {
    await this.store.put({ key: bytes(KEYS_PREFIX + key.access_key_id), value: bytes(JSON.stringify(key)) });
  }

  /** Create a new key pair. */
  async create(
    opts: Omit<AccessKey, 'access_key_id' | 'secret_access_key' | 'created_at'>,
    now: Date,
  ): Promise<AccessKey> {
    const key: AccessKey = {
      access_key_id: randomId(),
      secret_access_key: randomBytes(30)
        .toString('base64')
        .replace(/[+/]/g, (c) => (c === '+' ? 'A' : 'B')),
      created_at: now.toISOString(),
      ...opts,
    };
    await this.put(key);
    return key;
  }

  /** Delete a key; false when it did not exist. */
  async delete(id: string): Promise<boolean> {
    const r = await this.store.deleteRange({ key: bytes(KEYS_PREFIX + id) });
    return r.deleted > 0;
  }

  /**
   * Make sure the root key exists: read `<dataDir>/root-credentials.json`, or create a new admin key
   * and write it there (0600). Returns the root key.
   */
  async ensureRoot(dataDir: string, logger: Logger | undefined, now: Date): Promise<AccessKey> {
    const file = path.join(dataDir, 'root-credentials.json');
    let existing: AccessKey | undefined;
    try {
      existing = JSON.parse(await readFile(file, 'utf8')) as AccessKey;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (existing !== undefined) {
      if ((await this.get(existing.access_key_id)) === undefined) await this.put(existing);
      return existing;
    }
    const key = await this.create(
      { owner: 'root', is_admin: true, description: 'root key (first start)' },
      now,
    );
    const tmp = `${file}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(key, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    logger?.warn(
      { file, access_key_id: key.access_key_id },
      `LightningSTOR root credentials written to ${file}`,
    );
    return key;
  }
}
