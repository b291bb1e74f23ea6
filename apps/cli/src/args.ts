/**
 * Command-line parsing on `node:util` `parseArgs` (strict: unknown flags are errors), plus the help text
 * of each command, generated from the same option table so the two cannot drift apart.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './cli-error.js';

/** One `--flag` of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in help, e.g. `DIR`. */
  valueName?: string;
  description: string;
}

/** A command's name, help and flags. */
export interface CommandSpec {
  /** As typed after `photoncloud`, e.g. `up` or `serve`. */
  name: string;
  /** One line for `photoncloud --help`. */
  summary: string;
  /** Usage line(s) after `photoncloud `, e.g. `serve <service> [options]`. */
  usage: string;
  /** Paragraphs shown under the usage line. */
  description?: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments accepted (default 0). */
  maxPositionals?: number;
  /** Examples shown at the end of the help. */
  examples?: string[];
}

/** Parsed flags and positionals. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** True when `--help`/`-h` was given (everything else is then ignored). */
  help: boolean;
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help' };

/** Parse `argv` (the words after the command name) against `spec`; bad input → `UsageError`. */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  if (argv.includes('--help') || argv.includes('-h')) return { values: {}, positionals: [], help: true };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = o.short === undefined ? { type: o.type } : { type: o.type, short: o.short };
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    // parseArgs' messages are clear but mention internals ("To specify a positional argument …");
    // keep the first sentence.
    const msg = err instanceof Error ? (err.message.split('. ')[0] ?? err.message) : String(err);
    throw new UsageError(`${msg.replace(/\.$/, '')}`, `Run: photoncloud ${spec.name} --help`);
  }
  const max = spec.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals.slice(max).join(' ');
    throw new UsageError(`unexpected argument: ${extra}`, `Run: photoncloud ${spec.name} --help`);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    if (typeof v === 'string' || typeof v === 'boolean') values[k] = v;
  }
  return { values, positionals: parsed.positionals, help: false };
}

/** A string flag's value, or undefined. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A boolean flag's value (false when absent). */
export function boolFlag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** The help text of one command. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [`Usage: photoncloud ${spec.usage}`, ''];
  if (spec.description !== undefined) lines.push(spec.description, '');
  const rows = Object.entries({ ...spec.options, help: HELP }).map(([name, o]) => {
    const flag = `${o.short === undefined ? '    ' : `-${o.short}, `}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  lines.push('Options:');
  for (const [flag, text] of rows) lines.push(`  ${flag.padEnd(width)}  ${text}`);
  if (spec.examples !== undefined && spec.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n');
}
