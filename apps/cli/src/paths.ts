/** Where the CLI's own files are, independent of the working directory. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (three levels above apps/cli/src). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The `photoncloud` executable shim that `up` runs its children with. */
export const BIN_PATH = fileURLToPath(new URL('../../../bin/photoncloud', import.meta.url));

/** The platform version (root package.json). */
export function platformVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
