/**
 * Auth mode of a service (ARCHITECTURE.md §3): `local` lets token-less requests from loopback act as the
 * local admin; `required` needs a bearer token on every request but /health. Listening on anything
 * other than loopback forces `required`: `local` would otherwise be one proxy away from an open admin.
 */
import { ConfigError } from './config-error.js';
import { isLoopbackHost } from './host.js';

/** The two auth modes. */
export type AuthMode = 'local' | 'required';

/** Every auth mode, for help texts and validation. */
export const AUTH_MODES: readonly AuthMode[] = ['local', 'required'];

/** Parse `--auth-mode`. */
export function parseAuthMode(value: string, what = '--auth-mode'): AuthMode {
  const t = value.trim().toLowerCase();
  if (t === 'local' || t === 'required') return t;
  throw new ConfigError(`${what}: "${value}" is not an auth mode`, `Use one of: ${AUTH_MODES.join(', ')}.`);
}

/** The auth mode chosen for a listen host, and why. */
export interface AuthModeDecision {
  mode: AuthMode;
  /** True when the host decided (no mode was asked for and the host is not loopback). */
  forced: boolean;
  /** One sentence for the operator. */
  reason: string;
}

/**
 * Decide the auth mode for a service listening on `host`. Asking for `local` on a non-loopback host is
 * refused rather than silently changed, so an operator never believes they got what they did not.
 */
export function resolveAuthMode(host: string, requested?: AuthMode): AuthModeDecision {
  const loopback = isLoopbackHost(host);
  if (requested === 'local' && !loopback) {
    throw new ConfigError(
      `auth mode "local" is only allowed when listening on loopback, and ${host} is not loopback`,
      'Drop --auth-mode (required is used), or listen on 127.0.0.1.',
    );
  }
  if (requested !== undefined) {
    return { mode: requested, forced: false, reason: `auth mode ${requested} (set explicitly)` };
  }
  if (loopback) {
    return {
      mode: 'local',
      forced: false,
      reason: `auth mode local: listening on loopback (${host}), requests without a token act as the local admin`,
    };
  }
  return {
    mode: 'required',
    forced: true,
    reason: `auth mode required: ${host} is not loopback, so every request except /health needs a bearer token`,
  };
}
