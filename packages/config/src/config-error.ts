/**
 * A configuration mistake made by the operator (a bad flag, environment variable or port), kept apart
 * from bugs: the CLI prints its message and hint and exits with status 2, never a stack trace.
 */
export class ConfigError extends Error {
  /** What the operator can do about it, when we know. */
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'ConfigError';
    this.hint = hint;
  }
}

/** True for a `ConfigError` (also across module copies, by name). */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError || (err instanceof Error && err.name === 'ConfigError');
}
