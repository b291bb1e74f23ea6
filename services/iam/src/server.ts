/**
 * The IAM server (guide §3, port 8083): users, credentials, tokens, orgs/projects, policies/roles/
 * bindings and the audit query, over the platform Store. This is what `photoncloud serve iam` runs
 * (apps/cli/src/services/iam.ts) and what tests start in-process.
 *
 * IAM verifies bearer tokens with its own keys in-process (no JWKS fetch from itself); the mode and the
 * authorization/revocation hooks come from `opts.auth` (the CLI builds them with `buildAuth`). When no
 * revocation hook is given, IAM checks its own revocation keys in the Store.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { httpUrl } from '@photoncloud/config';
import { createService, jwksVerifier } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { Authorizer, httpAuthorizer, httpRevocationCheck } from '@photoncloud/authz';
import { IAM_ISSUER } from '@photoncloud/iam-api';
import { bootstrapAdmin } from './bootstrap.js';
import type { BootstrapCredential } from './bootstrap.js';
import { Credentials } from './credentials/credentials.js';
import type { LockoutPolicy } from './core/lockout.js';
import type { IamContext } from './iam-context.js';
import { registerAccessRoutes } from './routes/access-routes.js';
import { registerAuditRoutes } from './routes/audit-routes.js';
import { registerAuthRoutes } from './routes/auth-routes.js';
import { registerDirectoryRoutes } from './routes/directory-routes.js';
import { AccessControl } from './storage/access-control.js';
import { Directory } from './storage/directory.js';
import { JsonStore } from './storage/json-store.js';
import { Keyring } from './tokens/keyring.js';
import { DEFAULT_LIFETIMES, TokenService } from './tokens/token-service.js';
import type { TokenLifetimes } from './tokens/token-service.js';

export { IAM_ISSUER };

/** IAM's version (its package.json). */
export const IAM_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** How to run IAM. */
export interface IamServerOptions {
  store: Store;
  host?: string;
  /** 0 (default) lets the OS choose. */
  port?: number;
  /** Mode and authorization hooks; IAM supplies its own token verifier. */
  auth: AuthOptions;
  logger?: Logger;
  /** IAM's directory: bootstrap credential file and the signing-key encryption key. */
  dataDir?: string;
  /** Token lifetimes (defaults: access 1 h, max 24 h, refresh 7 days). */
  lifetimes?: Partial<TokenLifetimes>;
  /** Lockout after consecutive failed logins (default 5 failures → 15 minutes). */
  lockout?: LockoutPolicy;
  /** Create the first admin when the Store has no users (default true). */
  bootstrap?: boolean;
  /** Clock (tests). */
  now?: () => number;
}

/** A running IAM server. */
export interface IamServer {
  url: string;
  service: Service;
  /** The parts, for tests and benchmarks. */
  ctx: IamContext;
  /** Set when this start created the first administrator. */
  bootstrap?: BootstrapCredential;
  close(): Promise<void>;
}

/** The 32-byte key that seals signing keys at rest, kept in `<dataDir>/signing-kek` (0600). */
async function loadKek(dataDir: string): Promise<Uint8Array> {
  const file = join(dataDir, 'signing-kek');
  try {
    const raw = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    if (raw.length !== 32) throw new Error(`${file} does not hold a 32-byte key`);
    return raw;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const kek = randomBytes(32);
    await writeFile(file, kek.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return kek;
  }
}

/** Start IAM. */
export async function startIamServer(opts: IamServerOptions): Promise<IamServer> {
  const logger = opts.logger ?? createLogger({ service: 'iam' });
  const now = opts.now ?? Date.now;
  const lifetimes: TokenLifetimes = { ...DEFAULT_LIFETIMES, ...opts.lifetimes };
  const json = new JsonStore(opts.store);
  const dir = new Directory(json, now);
  const creds = new Credentials(dir, {
    now,
    ...(opts.lockout === undefined ? {} : { lockout: opts.lockout }),
  });
  const kek = opts.dataDir === undefined ? undefined : await loadKek(opts.dataDir);
  const keyring = new Keyring(json, {
    issuer: IAM_ISSUER,
    maxTokenTtlSeconds: lifetimes.maxAccessTtlSeconds,
    logger,
    now,
    ...(kek === undefined ? {} : { kek }),
  });
  await keyring.start();
  const tokens = new TokenService(dir, keyring, lifetimes, now);
  const access = new AccessControl(dir, now);
  const ctx: IamContext = { store: opts.store, dir, creds, tokens, keyring, access, logger, now };

  // Policies are enforced on IAM's own routes too: with the caller's hooks, or with IAM's own Authorizer.
  let authorizer: Authorizer | undefined;
  if (opts.auth.authorize === undefined || opts.auth.isRevoked === undefined) {
    authorizer = await Authorizer.open({ store: opts.store, logger: logger.child({ component: 'authz' }) });
  }
  const auth: AuthOptions = {
    ...opts.auth,
    // IAM verifies with its own keys in-process (a rotation is seen through the keyring's watch).
    verifyToken: jwksVerifier({ jwks: () => keyring.jwks(), issuer: IAM_ISSUER }),
    authorize: opts.auth.authorize ?? httpAuthorizer(authorizer!, 'iam'),
    isRevoked: opts.auth.isRevoked ?? httpRevocationCheck(authorizer!),
  };

  let service: Service | undefined;
  try {
    service = await createService({
      name: 'iam',
      version: IAM_VERSION,
      description: 'Identity and access management: users, credentials, tokens, projects, policies, audit.',
      logger,
      auth,
      store: opts.store,
    });
    registerAuthRoutes(service.app, ctx);
    registerDirectoryRoutes(service.app, ctx);
    registerAccessRoutes(service.app, ctx);
    registerAuditRoutes(service.app, ctx);
    service.onClose(() => keyring.close());
    if (authorizer !== undefined) service.onClose(() => authorizer.close());
    const host = opts.host ?? '127.0.0.1';
    const addr = await service.listen({ host, port: opts.port ?? 0 });
    const url = httpUrl(host, addr.port);
    const bootstrap =
      opts.bootstrap === false
        ? undefined
        : await bootstrapAdmin({
            dir,
            logger,
            url,
            ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
          });
    const svc = service;
    return {
      url,
      service: svc,
      ctx,
      ...(bootstrap === undefined ? {} : { bootstrap }),
      close: () => svc.close(),
    };
  } catch (err) {
    if (service !== undefined) await service.close().catch(() => undefined);
    else {
      await keyring.close().catch(() => undefined);
      await authorizer?.close().catch(() => undefined);
    }
    throw err;
  }
}
