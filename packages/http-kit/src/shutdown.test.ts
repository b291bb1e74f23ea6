import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleSignals } from './shutdown.js';

/** A promise and its resolver. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Signal handles do not keep Node's event loop alive: hold it open (no timing involved) until the
 * signal sent to ourselves has been delivered.
 */
function holdLoop(): () => void {
  const t = setInterval(() => undefined, 60_000);
  return () => clearInterval(t);
}

test('first signal closes then exits 0; a second signal exits 1 at once; the handlers can be removed', async () => {
  const before = process.listenerCount('SIGUSR2');
  const closeCalled = deferred();
  const drain = deferred();
  const exit1 = deferred();
  const exit0 = deferred();
  const exits: number[] = [];
  let closes = 0;
  const remove = handleSignals(
    {
      close: () => {
        closes += 1;
        closeCalled.resolve();
        return drain.promise;
      },
    },
    {
      signals: ['SIGUSR2'],
      exit: (code) => {
        exits.push(code);
        (code === 0 ? exit0 : exit1).resolve();
      },
    },
  );
  const release = holdLoop();
  try {
    assert.equal(process.listenerCount('SIGUSR2'), before + 1);
    // Signals are delivered asynchronously: wait for their effects, not for a number of ticks.
    process.kill(process.pid, 'SIGUSR2');
    await closeCalled.promise;
    process.kill(process.pid, 'SIGUSR2');
    await exit1.promise;
    assert.deepEqual(exits, [1], 'the second signal does not wait for the drain');
    drain.resolve();
    await exit0.promise;
    assert.deepEqual(exits, [1, 0]);
    assert.equal(closes, 1);
  } finally {
    release();
    remove();
  }
  assert.equal(process.listenerCount('SIGUSR2'), before);
});

test('a failing close exits 1', async () => {
  const exited = deferred<number>();
  const remove = handleSignals(
    { close: () => Promise.reject(new Error('boom')) },
    { signals: ['SIGUSR2'], exit: exited.resolve },
  );
  const release = holdLoop();
  try {
    process.kill(process.pid, 'SIGUSR2');
    assert.equal(await exited.promise, 1);
  } finally {
    release();
    remove();
  }
});
