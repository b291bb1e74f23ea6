/**
 * Authentication on port 50051, with the platform's auth modes (ARCHITECTURE.md, "Identity"):
 * - The etcd API gives raw access to the whole keyspace (every service's state, IAM's included), so a
 *   call needs the cluster secret (members and the platform's own services) or the bearer token of a
 *   platform administrator, as `authorization: Bearer <…>` metadata. In auth mode `local` a call without
 *   credentials from a loopback address acts as the local admin, as on the REST API.
 * - The peer service (Raft traffic, forwarded requests, joins) needs the cluster secret, in every mode.
 *
 * Refusals are gRPC statuses: UNAUTHENTICATED (no or bad credentials), PERMISSION_DENIED (a valid token
 * of a non-administrator), UNAVAILABLE (tokens cannot be checked right now).
 */
import * as grpc from '@grpc/grpc-js';
import { ServiceUnavailableError, UnauthorizedError } from '@photoncloud/errors';
import { isLoopback, parseBearer } from '@photoncloud/http-kit';
import type { AuthOptions } from '@photoncloud/http-kit';
import { sameSecret } from '../cluster/cluster-secret.js';

/** What a check sees of a call. */
export interface CallInfo {
  metadata: grpc.Metadata;
  /** `address:port` of the client as grpc-js reports it (`127.0.0.1:4242`, `::1:4242`), or `unknown`. */
  getPeer(): string;
}

/** The address part of a grpc-js peer string. */
export function peerHost(peer: string): string | undefined {
  const m = /^(.+):\d+$/.exec(peer);
  return m === null ? undefined : m[1]!.replace(/^\[(.*)\]$/, '$1');
}

/** Decides whether a call may run: `undefined` (yes, known at once), a promise, or a thrown status. */
export type CallCheck = (call: CallInfo) => Promise<void> | undefined;

function refusal(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

const unauthenticated = (details: string): grpc.ServiceError => refusal(grpc.status.UNAUTHENTICATED, details);

/** The bearer credential of a call; undefined when it sent none; UNAUTHENTICATED when malformed. */
function bearer(call: CallInfo): string | undefined {
  const v = call.metadata.get('authorization')[0];
  if (v === undefined || v === '') return undefined;
  const token = typeof v === 'string' ? parseBearer(v) : undefined;
  if (token === undefined) {
    throw unauthenticated('malformed authorization metadata: expected "Bearer <token>"');
  }
  return token;
}

/** The check of the peer service: the cluster secret, always. */
export function peerCallCheck(secret: string): CallCheck {
  return (call) => {
    const token = bearer(call);
    if (token === undefined) throw unauthenticated('peer calls need the cluster secret');
    if (!sameSecret(token, secret)) throw unauthenticated('wrong cluster secret');
    return undefined;
  };
}

/** The check of the etcd API: the cluster secret, an administrator's token, or the local-mode rule. */
export function etcdCallCheck(auth: AuthOptions, secret: string): CallCheck {
  return (call) => {
    const token = bearer(call);
    if (token === undefined) {
      if (auth.mode === 'local' && isLoopback(peerHost(call.getPeer()))) return undefined;
      throw unauthenticated(
        auth.mode === 'local'
          ? 'authentication required for calls from non-loopback addresses: send "authorization: Bearer <token>" metadata'
          : 'authentication required: send "authorization: Bearer <token>" metadata',
      );
    }
    if (sameSecret(token, secret)) return undefined;
    const verify = auth.verifyToken;
    if (verify === undefined)
      throw unauthenticated('this server cannot verify tokens (no JWKS URL configured)');
    return (async () => {
      let principal;
      try {
        principal = await verify(token);
      } catch (e) {
        if (e instanceof ServiceUnavailableError) throw refusal(grpc.status.UNAVAILABLE, e.message);
        throw unauthenticated(e instanceof UnauthorizedError ? e.message : 'invalid token');
      }
      if (auth.isRevoked !== undefined && (await auth.isRevoked(principal))) {
        throw unauthenticated('token revoked');
      }
      if (!principal.isAdmin) {
        throw refusal(
          grpc.status.PERMISSION_DENIED,
          'the etcd API reads and writes the whole keyspace: it needs a platform administrator token (use the REST API for scoped access)',
        );
      }
    })();
  };
}

type AnyCall = CallInfo & { emit?: (event: 'error', err: grpc.ServiceError) => boolean };
type Handler = (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => void;

/**
 * `impl` with `check` run before every method of `def`: a refused call ends with the check's status
 * (through the callback of unary and client-streaming calls, as the stream's error otherwise) and never
 * reaches the handler. Streams buffer what the client sends meanwhile.
 */
export function guarded(
  def: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
  check: CallCheck,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(def)) {
    const handler = impl[name] as Handler | undefined;
    if (handler === undefined) continue;
    const withCallback = !method.responseStream;
    const refuse = (call: AnyCall, cb: grpc.sendUnaryData<unknown> | undefined, err: unknown): void => {
      const e =
        err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number'
          ? (err as grpc.ServiceError)
          : unauthenticated('authentication failed');
      if (withCallback) cb?.(e);
      else call.emit?.('error', e);
    };
    const wrapped: Handler = (call, cb) => {
      let pending: Promise<void> | undefined;
      try {
        pending = check(call);
      } catch (err) {
        refuse(call, cb, err);
        return;
      }
      if (pending === undefined) handler(call, cb);
      else
        pending.then(
          () => handler(call, cb),
          (err: unknown) => refuse(call, cb, err),
        );
    };
    out[name] = wrapped as unknown as grpc.UntypedHandleCall;
  }
  return out;
}
