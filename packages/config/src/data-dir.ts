/** The platform data directory: where it is and how it is laid out. */
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './config-error.js';
import { ENV, readEnv } from './env.js';

/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.data';

/** Inputs of `resolveDataDir`. */
export interface ResolveDataDirOptions {
  /** `--data-dir`, when given. */
  flag?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** `--data-dir`, else $PHOTONCLOUD_DATA_DIR, else `./.data` under the working directory; always absolute. */
export function resolveDataDir(opts: ResolveDataDirOptions = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  const chosen = opts.flag ?? readEnv(ENV.dataDir, opts.env) ?? DEFAULT_DATA_DIR;
  if (chosen.trim() === '')
    throw new ConfigError('--data-dir: empty path', 'Give a directory, e.g. --data-dir /var/lib/photoncloud');
  if (chosen.includes('\0')) throw new ConfigError('--data-dir: the path contains a NUL byte');
  return isAbsolute(chosen) ? resolve(chosen) : resolve(cwd, chosen);
}

/** Where everything lives under one data directory. */
export interface DataDirLayout {
  /** The data directory itself. */
  root: string;
  /** One log file per service, written by `photoncloud up`. */
  logs: string;
  /** Runtime state of `photoncloud up` (PIDs, ports). */
  run: string;
  /** `run/up.json`: what `photoncloud up` started; read by `photoncloud status`. */
  upFile: string;
  /** A service's own state, e.g. `<root>/chainfire`. */
  serviceDir(service: string): string;
  /** A service's log file, e.g. `<root>/logs/chainfire.log`. */
  logFile(service: string): string;
}

/** The layout of data directory `root` (nothing is created). */
export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    upFile: join(root, 'run', 'up.json'),
    serviceDir: (service) => join(root, service),
    logFile: (service) => join(root, 'logs', `${service}.log`),
  };
}
