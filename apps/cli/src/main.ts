/**
 * `photoncloud <command>`: the CLI entry point. Commands are verbs for the platform as a whole (`up`,
 * `serve`, `status`, `doctor`); resource commands will follow wrangler's `<noun> <verb>` style.
 * `main` returns the exit code instead of exiting, so tests call it directly.
 */
import { isConfigError } from '@photoncloud/config';
import { formatHelp } from './args.js';
import type { CommandSpec } from './args.js';
import { CliError, UsageError } from './cli-error.js';
import { doctorCommand, doctorSpec } from './commands/doctor.js';
import { serveCommand, serveSpec } from './commands/serve.js';
import { statusCommand, statusSpec } from './commands/status.js';
import { upCommand, upSpec } from './commands/up.js';
import { processIo } from './io.js';
import type { Io } from './io.js';
import { platformVersion } from './paths.js';
import { SERVICES } from './services.js';
import { processEnv } from './settings.js';
import type { CliEnv } from './settings.js';

/** A command: its help and how to run it. */
interface Command {
  spec: CommandSpec;
  run(argv: readonly string[], io: Io, ctx: CliEnv): Promise<number>;
}

/** Every command, in help order. */
export const COMMANDS: readonly Command[] = [
  { spec: upSpec, run: upCommand },
  { spec: statusSpec, run: statusCommand },
  { spec: serveSpec, run: serveCommand },
  { spec: doctorSpec, run: doctorCommand },
];

/** The top-level help. */
export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length));
  return [
    `photoncloud ${platformVersion()} — a self-hosted cloud platform`,
    '',
    'Usage: photoncloud <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`),
    '',
    `Services: ${SERVICES.map((s) => `${s.name} (${s.listeners.map((l) => `${l.name} ${l.defaultPort}`).join(', ')})`).join('; ')}`,
    '',
    "Run `photoncloud <command> --help` for a command's options.",
  ].join('\n');
}

/** Run the CLI with `argv` (the words after `photoncloud`); resolves with the exit code. */
export async function main(
  argv: readonly string[],
  io: Io = processIo,
  ctx: CliEnv = processEnv(),
): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h') {
      io.out(globalHelp());
      return first === undefined ? 2 : 0;
    }
    if (first === '--version' || first === '-V' || first === 'version') {
      io.out(platformVersion());
      return 0;
    }
    if (first === 'help') {
      const target = rest[0];
      const cmd = target === undefined ? undefined : COMMANDS.find((c) => c.spec.name === target);
      if (target !== undefined && cmd === undefined) throw unknownCommand(target);
      io.out(cmd === undefined ? globalHelp() : formatHelp(cmd.spec));
      return 0;
    }
    const cmd = COMMANDS.find((c) => c.spec.name === first);
    if (cmd === undefined) throw unknownCommand(first);
    return await cmd.run(rest, io, ctx);
  } catch (err) {
    return report(err, io);
  }
}

function unknownCommand(name: string): UsageError {
  return new UsageError(
    `unknown command "${name}"`,
    `Commands: ${COMMANDS.map((c) => c.spec.name).join(', ')}. Run: photoncloud --help`,
  );
}

/** Print an error the way an operator wants it: message and hint, no stack (unless PHOTONCLOUD_DEBUG). */
function report(err: unknown, io: Io): number {
  if (err instanceof CliError || isConfigError(err)) {
    io.err(`error: ${err.message}`);
    if (err.hint !== undefined) io.err(`hint: ${err.hint}`);
    return err instanceof CliError ? err.exitCode : 2;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  io.err(`error: ${e.message}`);
  const sys = e as NodeJS.ErrnoException;
  if (typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    // The operating system refused something (permissions, disk full, missing file): not a bug.
    io.err('hint: check permissions, free space and the paths given (data directory, log files)');
    return 1;
  }
  if (process.env['PHOTONCLOUD_DEBUG'] === '1') io.err(e.stack ?? '');
  else io.err('hint: this is a bug in PhotonCloud; rerun with PHOTONCLOUD_DEBUG=1 for details and report it');
  return 1;
}
