/** `photoncloud doctor`: a report of what this host offers PhotonCloud's runtimes. Always exits 0. */
import { boolFlag, formatHelp, parseCommandArgs, stringFlag } from '../args.js';
import type { CommandSpec } from '../args.js';
import { runDoctorChecks } from '../doctor-checks.js';
import type { DoctorCheck } from '../doctor-checks.js';
import type { Io } from '../io.js';
import { dataDirSetting } from '../settings.js';
import type { CliEnv } from '../settings.js';

/** `doctor`'s flags and help. */
export const doctorSpec: CommandSpec = {
  name: 'doctor',
  summary: 'Check this host: Node, QEMU/KVM, runc, etcd, iproute2, data dir and disk',
  usage: 'doctor [options]',
  description: [
    'Reports, line by line, OK / MISSING / WARN with the Debian package that provides what is missing.',
    'It is a report: the exit status is 0 either way. `npm run setup` (as root) installs the packages.',
  ].join('\n'),
  options: {
    'data-dir': {
      type: 'string',
      valueName: 'DIR',
      description: 'Data directory to check (default $PHOTONCLOUD_DATA_DIR or ./.data)',
    },
    json: { type: 'boolean', description: 'Print the checks as JSON' },
  },
};

const LABEL: Record<DoctorCheck['status'], string> = { ok: 'OK', missing: 'MISSING', warn: 'WARN' };

/** Format the report as aligned text lines. */
export function formatDoctorReport(checks: readonly DoctorCheck[]): string[] {
  const nameWidth = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => {
    const pkg = c.status !== 'ok' && c.package !== undefined ? `  → apt-get install ${c.package}` : '';
    return `${LABEL[c.status].padEnd(7)}  ${c.name.padEnd(nameWidth)}  ${c.detail}${pkg}`;
  });
  const missing = checks
    .filter((c) => c.status === 'missing' && c.package !== undefined)
    .map((c) => c.package as string);
  if (missing.length > 0)
    lines.push(
      '',
      `To install what is missing (as root): apt-get install ${[...new Set(missing)].join(' ')}`,
    );
  return lines;
}

/** Run `doctor`. */
export async function doctorCommand(argv: readonly string[], io: Io, ctx: CliEnv): Promise<number> {
  const args = parseCommandArgs(doctorSpec, argv);
  if (args.help) {
    io.out(formatHelp(doctorSpec));
    return 0;
  }
  const dataDir = dataDirSetting(stringFlag(args, 'data-dir'), ctx);
  const checks = await runDoctorChecks({ dataDir, pathEnv: ctx.env['PATH'] ?? '' });
  if (boolFlag(args, 'json')) io.out(JSON.stringify({ checks }, null, 2));
  else for (const line of formatDoctorReport(checks)) io.out(line);
  return 0;
}
