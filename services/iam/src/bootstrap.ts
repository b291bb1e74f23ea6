/**
 * First start: when the Store holds no users (and IAM never bootstrapped before), create the user
 * `admin` with a random password, bind the `admin` role platform-wide, print the credential once in a
 * banner, and write it to `<dataDir>/bootstrap-admin.json` (mode 0600) for the CLI. A marker key makes
 * this happen once per platform, even when several IAM processes start together or users are later
 * deleted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@photoncloud/log';
import { bytes } from '@photoncloud/store';
import type { Binding } from '@photoncloud/authz';
import type { StoredCredential } from './credentials/credentials.js';
import { hashPassword } from './credentials/password.js';
import { newId } from './storage/directory.js';
import type { Directory, StoredUser } from './storage/directory.js';
import { K } from './storage/keys.js';

/** File name of the bootstrap credential inside IAM's data dir. */
export const BOOTSTRAP_FILE = 'bootstrap-admin.json';

/** The bootstrap credential. */
export interface BootstrapCredential {
  username: string;
  password: string;
  created_at: string;
}

/** Options of `bootstrapAdmin`. */
export interface BootstrapOptions {
  dir: Directory;
  logger: Logger;
  /** Where `bootstrap-admin.json` goes; without it the credential is only printed. */
  dataDir?: string;
  /** Shown in the banner (how to reach IAM). */
  url?: string;
}

/** Create the first admin if this platform never had one; returns the credential when it did. */
export async function bootstrapAdmin(opts: BootstrapOptions): Promise<BootstrapCredential | undefined> {
  const { dir, logger } = opts;
  if (await dir.hasUsers()) return undefined;
  const createdAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const password = randomBytes(18).toString('base64url');
  const hash = await hashPassword(password);
  const user: StoredUser = {
    id: 'admin',
    name: 'Platform administrator',
    type: 'user',
    status: 'active',
    org_ids: [],
    has_password: true,
    mfa_enabled: false,
    created_at: createdAt,
    updated_at: createdAt,
  };
  const credential: StoredCredential = { password_hash: hash, password_updated_at: createdAt };
  const binding: Binding = {
    id: newId('bind'),
    principal_id: 'admin',
    role: 'admin',
    scope: {},
    created_at: createdAt,
  };
  // Marker, user, password and binding in one transaction that only the first process wins: a crash
  // cannot leave an admin without a password, and a second IAM starting alongside does nothing.
  const marker = bytes(K.bootstrap);
  const put = (key: string, value: unknown) => ({
    put: { key: bytes(key), value: bytes(JSON.stringify(value)) },
  });
  const res = await dir.json.store.txn({
    compare: [
      { key: marker, target: 'create', createRevision: 0, result: 'equal' },
      { key: bytes(K.user('admin')), target: 'create', createRevision: 0, result: 'equal' },
    ],
    success: [
      put(K.bootstrap, { user_id: 'admin', created_at: createdAt }),
      put(K.user('admin'), user),
      put(K.credential('admin'), credential),
      put(K.binding('admin', binding.id), binding),
    ],
    failure: [],
  });
  if (!res.succeeded) return undefined;
  const cred: BootstrapCredential = { username: 'admin', password, created_at: createdAt };
  let file: string | undefined;
  if (opts.dataDir !== undefined) {
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    file = join(opts.dataDir, BOOTSTRAP_FILE);
    await writeFile(file, JSON.stringify(cred, null, 2) + '\n', { mode: 0o600, flag: 'w' });
  }
  const line = '='.repeat(72);
  logger.warn(
    { bootstrap: { username: 'admin', file: file ?? null } },
    [
      '',
      line,
      ' PhotonCloud IAM: first start — administrator account created',
      `   username: admin`,
      `   password: ${password}`,
      ...(file === undefined ? [] : [`   saved to: ${file} (mode 0600)`]),
      ...(opts.url === undefined ? [] : [`   log in:   POST ${opts.url}/api/v1/auth/login`]),
      ' This is shown once. Change the password: POST /api/v1/users/admin/password',
      line,
    ].join('\n'),
  );
  return cred;
}
