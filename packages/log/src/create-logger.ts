/**
 * The platform's logger: pino, JSON lines on stdout, every line tagged with the service name and an
 * RFC 3339 UTC `time`. The level comes from the caller, else PHOTONCLOUD_LOG_LEVEL, else `info`.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';

/** A pino logger. */
export type Logger = PinoLogger;

/** Levels accepted in PHOTONCLOUD_LOG_LEVEL and `level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of `LOG_LEVELS`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options for `createLogger`. */
export interface CreateLoggerOptions {
  /** Service name, written as `service` on every line. */
  service: string;
  /** Minimum level; default PHOTONCLOUD_LOG_LEVEL, else `info`. */
  level?: LogLevel;
  /** Where lines go; default stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

/** True when `s` is a level name pino knows. */
export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/**
 * Resolve the level: explicit option, then the environment. An unknown value in the environment is a
 * configuration mistake; it must not stop the service, so it falls back to `info` and says so.
 */
function resolveLevel(level: LogLevel | undefined): { level: LogLevel; invalidEnv?: string } {
  if (level !== undefined) {
    if (!isLogLevel(level))
      throw new Error(`createLogger: unknown level "${String(level)}" (use one of ${LOG_LEVELS.join(', ')})`);
    return { level };
  }
  const env = process.env['PHOTONCLOUD_LOG_LEVEL']?.trim().toLowerCase();
  if (env === undefined || env === '') return { level: 'info' };
  if (isLogLevel(env)) return { level: env };
  return { level: 'info', invalidEnv: env };
}

/** Create the logger for one service. */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const { level, invalidEnv } = resolveLevel(opts.level);
  const options = {
    level,
    base: { service: opts.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      // Level names ("info") instead of numbers: easier to grep and to read in the console.
      level: (label: string) => ({ level: label }),
    },
  };
  const logger = opts.destination === undefined ? pino(options) : pino(options, opts.destination);
  if (invalidEnv !== undefined) {
    logger.warn(
      { value: invalidEnv, allowed: LOG_LEVELS },
      'PHOTONCLOUD_LOG_LEVEL is not a log level; using info',
    );
  }
  return logger;
}
