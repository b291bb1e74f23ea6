/** Port numbers, offsets and per-listener overrides (`--ports` / PHOTONCLOUD_PORTS). */
import { ConfigError } from './config-error.js';

/** Options of `parsePort`. */
export interface ParsePortOptions {
  /** Accept 0 ("let the OS choose"); default false. */
  allowZero?: boolean;
}

/** Parse a TCP/UDP port given as text; `what` names it in the error (e.g. `--http-port`). */
export function parsePort(value: string, what: string, opts: ParsePortOptions = {}): number {
  const t = value.trim();
  if (!/^\d{1,5}$/.test(t)) {
    throw new ConfigError(`${what}: "${value}" is not a port number`, 'Use an integer from 1 to 65535.');
  }
  const n = Number(t);
  const min = opts.allowZero === true ? 0 : 1;
  if (n < min || n > 65535) {
    throw new ConfigError(
      `${what}: ${n} is out of range`,
      `Use an integer from ${min} to 65535${min === 0 ? ' (0 lets the OS choose a free port)' : ''}.`,
    );
  }
  return n;
}

/** Parse a port offset (added to every default port). */
export function parsePortOffset(value: string, what = '--port-offset'): number {
  const t = value.trim();
  if (!/^-?\d{1,5}$/.test(t)) {
    throw new ConfigError(`${what}: "${value}" is not an integer`, 'Example: --port-offset 1000');
  }
  const n = Number(t);
  if (n < -65535 || n > 65535)
    throw new ConfigError(`${what}: ${n} is out of range`, 'Use a value between -65535 and 65535.');
  return n;
}

/** Port overrides keyed by `service.listener` (e.g. `chainfire.grpc`). */
export type PortOverrides = Map<string, number>;

const OVERRIDE_KEY = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/;

/**
 * Parse `service.listener=port,…` (whitespace and empty items are ignored). `source` names where the
 * text came from (`--ports`, `PHOTONCLOUD_PORTS`) for the error messages. Whether the service and
 * listener exist is checked later, against the service registry.
 */
export function parsePortOverrides(spec: string, source: string): PortOverrides {
  const out: PortOverrides = new Map();
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) {
      throw new ConfigError(
        `${source}: "${item}" is not service.listener=port`,
        'Example: chainfire.http=18081,chainfire.grpc=15051',
      );
    }
    const key = item.slice(0, eq).trim().toLowerCase();
    if (!OVERRIDE_KEY.test(key)) {
      throw new ConfigError(
        `${source}: "${key}" is not service.listener`,
        'Example: chainfire.http=18081,chainfire.grpc=15051',
      );
    }
    if (out.has(key)) throw new ConfigError(`${source}: ${key} is given twice`);
    out.set(key, parsePort(item.slice(eq + 1), `${source} ${key}`));
  }
  return out;
}

/** Merge overrides; entries of `later` win. */
export function mergePortOverrides(...sources: PortOverrides[]): PortOverrides {
  const out: PortOverrides = new Map();
  for (const s of sources) for (const [k, v] of s) out.set(k, v);
  return out;
}
