/** Running the host tools the agent drives (runc, ip, nft, tar, mount), bounded in time. */
import { execFile } from 'node:child_process';

/** A host tool failed. */
export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly args: readonly string[],
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`${tool} ${args.join(' ')} failed (${String(code)}): ${stderr.trim().slice(0, 500)}`);
    this.name = 'ToolError';
  }
}

/** Run a tool; resolve with stdout, reject with ToolError. Optional stdin text. */
export function execTool(
  tool: string,
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err !== null) {
          const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(new ToolError(tool, args, code, stderr || err.message));
        } else {
          resolve(stdout);
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
