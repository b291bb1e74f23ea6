/**
 * The cluster secret: the shared credential of one ChainFire cluster. Members present it to each other
 * on every peer call (Raft traffic, forwarded requests, joins), and the platform's own services present
 * it on the etcd API when they cannot count on the local-admin rule (auth mode `required`). Without it,
 * anyone who reaches port 50051 could inject Raft messages or read and write the whole keyspace.
 *
 * It lives in `<chainfire data dir>/cluster-secret` (mode 0600). The first member creates it; a joining
 * member must be given the same one (`PHOTONCLOUD_CLUSTER_SECRET`), and keeps it in its own file once
 * it has joined.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

/** The file name under the ChainFire data directory. */
export const CLUSTER_SECRET_FILE = 'cluster-secret';

/** Characters a secret may use: those of a bearer token (RFC 6750), 16 to 512 of them. */
const SECRET_RE = /^[A-Za-z0-9\-._~+/]{16,512}=*$/;

/** Why a secret cannot be used; `message` says what to do. */
export class ClusterSecretError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'ClusterSecretError';
  }
}

/** True when `s` has the shape of a usable secret. */
export function isValidClusterSecret(s: string): boolean {
  return SECRET_RE.test(s);
}

/** Compare two secrets in constant time (for equal lengths). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Read the secret file of `dir`; undefined when there is none. */
export function readClusterSecret(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dir, CLUSTER_SECRET_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const s = text.trim();
  if (!isValidClusterSecret(s)) {
    throw new ClusterSecretError(
      `${path.join(dir, CLUSTER_SECRET_FILE)} does not hold a valid cluster secret`,
      'Restore the file from another member of the cluster (16 to 512 token characters).',
    );
  }
  return s;
}

/** Write `secret` to the file of `dir` atomically (temp file, fsync, rename), readable by its owner only. */
export function saveClusterSecret(dir: string, secret: string): void {
  const file = path.join(dir, CLUSTER_SECRET_FILE);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${secret}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/**
 * The secret of the member whose data directory is `dir`, and whether it is already saved there:
 * - the file's, when there is one (a `given` secret must then be the same);
 * - else `given`;
 * - else, when the member is not joining, a new random one (a new cluster);
 * - else (joining, or starting from an initial member list, without a secret) a `ClusterSecretError`.
 * An unsaved secret is saved (`saveClusterSecret`) once the member has started, so that a failed join
 * (a mistyped secret) can be retried with another one.
 */
export function loadClusterSecret(
  dir: string,
  given: string | undefined,
  joining: boolean,
): { secret: string; saved: boolean } {
  if (given !== undefined && !isValidClusterSecret(given)) {
    throw new ClusterSecretError(
      'the cluster secret must be 16 to 512 characters of A-Z a-z 0-9 - . _ ~ + / (and trailing =)',
      'Copy it from <data dir>/chainfire/cluster-secret on an existing member.',
    );
  }
  const saved = readClusterSecret(dir);
  if (saved !== undefined) {
    if (given !== undefined && !sameSecret(given, saved)) {
      throw new ClusterSecretError(
        `the given cluster secret differs from the one this member keeps in ${path.join(dir, CLUSTER_SECRET_FILE)}`,
        'Unset PHOTONCLOUD_CLUSTER_SECRET, or give the secret of the cluster this member belongs to.',
      );
    }
    return { secret: saved, saved: true };
  }
  if (given === undefined && joining) {
    throw new ClusterSecretError(
      'joining a cluster (or starting one from an initial member list) needs its cluster secret',
      'Set PHOTONCLOUD_CLUSTER_SECRET to the contents of <data dir>/chainfire/cluster-secret on an existing member (for a new cluster: the same 16+ token characters on every member, e.g. from `openssl rand -base64 32`).',
    );
  }
  return { secret: given ?? randomBytes(32).toString('base64url'), saved: false };
}
