/** Temporary directories for tests, removed by `cleanup()`. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory and the function that removes it. */
export interface TempDir {
  /** Absolute path of the new, empty directory. */
  path: string;
  /** Remove the directory and everything in it; safe to call more than once. */
  cleanup(): Promise<void>;
}

/** Create a fresh directory under the OS temp dir named `<prefix>XXXXXX`. */
export async function tempDir(prefix = 'photoncloud-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    cleanup: () => rm(path, { recursive: true, force: true, maxRetries: 3 }),
  };
}
