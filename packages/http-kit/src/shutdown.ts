/** Wire process signals to a graceful shutdown. */

/** Something that can be closed gracefully (a `Service`). */
export interface Closable {
  close(): Promise<void>;
}

/** Options of `handleSignals`. */
export interface HandleSignalsOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Called with the exit code once closed (default `process.exit`). Tests pass their own. */
  exit?: (code: number) => void;
  /** Told about the shutdown and its failures. */
  logger?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * On the first signal, close `target` (stop accepting, drain in-flight requests, close resources) and
 * exit 0 (1 if closing failed). A second signal exits at once with 1, for operators who do not want
 * to wait for the drain. Returns a function that removes the handlers.
 */
export function handleSignals(target: Closable, opts: HandleSignalsOptions = {}): () => void {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      opts.logger?.error({ signal }, 'second signal: exiting without waiting for the drain');
      exit(1);
      return;
    }
    closing = true;
    opts.logger?.info({ signal }, 'shutting down');
    target.close().then(
      () => exit(0),
      (err: unknown) => {
        opts.logger?.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
