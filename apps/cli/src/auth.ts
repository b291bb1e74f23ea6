/**
 * `buildAuth`: the authentication/authorization settings `serve` hands every service — the auth mode,
 * a JWKS token verifier on IAM's keys, and the @photoncloud/authz hooks (policy decisions, revocations)
 * over the platform Store.
 *
 * The Authorizer is opened in the background and re-tried until the Store answers, because ChainFire
 * itself is served with these settings before its own Store is reachable. Until it is open, requests
 * that need a decision wait a little, then get 503 (never an unchecked "allow").
 */
import { ServiceUnavailableError } from '@photoncloud/errors';
import { Authorizer, httpAuthorizer, httpRevocationCheck } from '@photoncloud/authz';
import { jwksVerifier } from '@photoncloud/http-kit';
import type { AuthOptions } from '@photoncloud/http-kit';
import { IAM_ISSUER } from '@photoncloud/iam-api';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';

/** Options of `buildAuth`. */
export interface BuildAuthOptions {
  mode: AuthOptions['mode'];
  /** IAM's JWKS (`http://iam:8083/.well-known/jwks.json`); without it presented tokens are rejected. */
  jwksUrl?: string;
  /** The platform Store, or how to get it (opened lazily; retried until it answers). */
  store: Store | (() => Promise<Store>);
  /** The service's name, the first part of every action (`chainfire:kv:get`). */
  serviceName: string;
  logger?: Logger;
  /** How long a request waits for the Authorizer before 503; default 5 s. */
  readyTimeoutMs?: number;
}

/** `AuthOptions` plus the lifecycle of the Authorizer behind them. */
export interface BuiltAuth extends AuthOptions {
  /** Resolves once the Authorizer has loaded the IAM state. */
  ready: Promise<void>;
  /** Stop the Authorizer (its store watch). */
  close(): Promise<void>;
}

function isStore(s: BuildAuthOptions['store']): s is Store {
  return typeof s === 'object' && s !== null && typeof (s as Store).range === 'function';
}

/** Build the auth settings of one service. */
export function buildAuth(opts: BuildAuthOptions): BuiltAuth {
  const logger = opts.logger;
  let authorizer: Authorizer | undefined;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let hooks: Required<Pick<AuthOptions, 'authorize' | 'isRevoked'>> | undefined;

  const ready = (async () => {
    let delay = 100;
    for (;;) {
      if (closed) throw new Error('auth closed before the Authorizer opened');
      try {
        const store = isStore(opts.store) ? opts.store : await opts.store();
        authorizer = await Authorizer.open({
          store,
          ...(logger === undefined ? {} : { logger: logger.child({ component: 'authz' }) }),
        });
        if (closed) await authorizer.close();
        return;
      } catch (err) {
        logger?.warn({ err, retry_ms: delay }, 'authorization state not readable yet; retrying');
        await new Promise<void>((resolve) => {
          wake = resolve;
          retry = setTimeout(resolve, delay);
        });
        delay = Math.min(delay * 2, 5000);
      }
    }
  })();
  ready.catch(() => undefined);

  async function current(): Promise<Authorizer> {
    if (authorizer !== undefined) return authorizer;
    const timeoutMs = opts.readyTimeoutMs ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
    } catch {
      throw new ServiceUnavailableError('Authorization state is not loaded yet (store unreachable)', 2);
    } finally {
      clearTimeout(timer);
    }
    return authorizer!;
  }

  const auth: BuiltAuth = {
    mode: opts.mode,
    ready,
    authorize: async (request, principal) => {
      const a = await current();
      hooks ??= { authorize: httpAuthorizer(a, opts.serviceName), isRevoked: httpRevocationCheck(a) };
      await hooks.authorize(request, principal);
    },
    isRevoked: async (principal) => {
      const a = await current();
      hooks ??= { authorize: httpAuthorizer(a, opts.serviceName), isRevoked: httpRevocationCheck(a) };
      return hooks.isRevoked(principal);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      wake?.();
      await authorizer?.close();
    },
  };
  if (opts.jwksUrl !== undefined)
    auth.verifyToken = jwksVerifier({ jwksUrl: opts.jwksUrl, issuer: IAM_ISSUER });
  return auth;
}
