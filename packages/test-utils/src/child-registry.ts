/**
 * Children started by test helpers. If a test process dies without calling `stop()`, its children
 * would outlive it (an etcd holding a port, a watch holding a pipe); an exit hook kills exactly the
 * PIDs we started, nothing else.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Live children, each with the temp dir (if any) to remove once it is gone. */
const live = new Map<ChildProcess, string | undefined>();
let hooked = false;

/**
 * Remember `child` until it exits, and make sure it dies with this process. `ownedDir`, when given,
 * is removed at exit too (the child's temp data dir, which its normal `stop()` would have removed).
 */
export function trackChild(child: ChildProcess, ownedDir?: string): void {
  live.set(child, ownedDir);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const [c, dir] of live) {
        if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            // Already gone: nothing to clean up.
          }
        }
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
