/** Where a command writes: stdout for results, stderr for diagnostics. Tests pass their own. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The process's own stdout/stderr. */
export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** An `Io` that keeps every line, for tests. */
export function memoryIo(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}
