/**
 * Resolving the settings shared by `up`, `serve` and `status` from flags and the environment
 * (flags win over environment variables, which win over the defaults).
 */
import {
  ENV,
  mergePortOverrides,
  parseHost,
  parsePortOffset,
  parsePortOverrides,
  readEnv,
  resolveDataDir,
} from '@photoncloud/config';
import type { PortOverrides } from '@photoncloud/config';
import { UsageError } from './cli-error.js';

/** Default listen host: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Where the CLI reads its environment and working directory from (tests pass their own). */
export interface CliEnv {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The current process's environment and working directory. */
export function processEnv(): CliEnv {
  return { env: process.env, cwd: process.cwd() };
}

/** `--data-dir` → $PHOTONCLOUD_DATA_DIR → `./.data`. */
export function dataDirSetting(flag: string | undefined, ctx: CliEnv): string {
  return resolveDataDir({ flag, env: ctx.env, cwd: ctx.cwd });
}

/** `--host` → $PHOTONCLOUD_HOST → 127.0.0.1. */
export function hostSetting(flag: string | undefined, ctx: CliEnv): string {
  if (flag !== undefined) return parseHost(flag, '--host');
  const env = readEnv(ENV.host, ctx.env);
  return env === undefined ? DEFAULT_HOST : parseHost(env, ENV.host);
}

/** `--port-offset` → $PHOTONCLOUD_PORT_OFFSET → 0. */
export function portOffsetSetting(flag: string | undefined, ctx: CliEnv): number {
  if (flag !== undefined) return parsePortOffset(flag, '--port-offset');
  const env = readEnv(ENV.portOffset, ctx.env);
  return env === undefined ? 0 : parsePortOffset(env, ENV.portOffset);
}

/** $PHOTONCLOUD_PORTS, overridden item by item by `--ports`. */
export function portOverridesSetting(flag: string | undefined, ctx: CliEnv): PortOverrides {
  const env = readEnv(ENV.ports, ctx.env);
  return mergePortOverrides(
    env === undefined ? new Map() : parsePortOverrides(env, ENV.ports),
    flag === undefined ? new Map() : parsePortOverrides(flag, '--ports'),
  );
}

/** A positive duration in seconds given as text (e.g. `--ready-timeout 60`); returns milliseconds. */
export function secondsSetting(flag: string | undefined, what: string, defaultSeconds: number): number {
  if (flag === undefined) return defaultSeconds * 1000;
  const t = flag.trim();
  const n = Number(t);
  if (t === '' || !Number.isFinite(n) || n <= 0 || n > 86_400) {
    throw new UsageError(`${what}: "${flag}" is not a number of seconds between 0 and 86400`);
  }
  return Math.round(n * 1000);
}
