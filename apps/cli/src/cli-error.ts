/**
 * CLI errors. A `UsageError` is a mistake on the command line (exit 2, like a `ConfigError`); a
 * `CliError` is a failure the operator must act on (a port in use, a service that will not start; exit 1).
 * Neither is printed with a stack trace.
 */

/** A failure with a message (and hint) for the operator; exit status 1 unless told otherwise. */
export class CliError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, opts: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.name = 'CliError';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** A bad command line: unknown flag, missing argument, unknown service (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, hint === undefined ? { exitCode: 2 } : { hint, exitCode: 2 });
    this.name = 'UsageError';
  }
}
