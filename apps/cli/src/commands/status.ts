/**
 * `photoncloud status`: what `photoncloud up` runs on this data directory (from run/up.json), whether
 * each service answers /health, and ChainFire's cluster status. Exit 0 when everything is healthy,
 * 1 otherwise (including "not running").
 */
import { ENV, dataDirLayout, readEnv } from '@photoncloud/config';
import { boolFlag, formatHelp, parseCommandArgs, stringFlag } from '../args.js';
import type { CommandSpec } from '../args.js';
import { getJson } from '../http-probe.js';
import type { Io } from '../io.js';
import { isPhotonCloudProcess, readRunState } from '../run-state.js';
import type { RunService } from '../run-state.js';
import { findService } from '../services.js';
import { dataDirSetting } from '../settings.js';
import type { CliEnv } from '../settings.js';

/** `status`'s flags and help. */
export const statusSpec: CommandSpec = {
  name: 'status',
  summary: 'Show what runs, its health, URLs and the ChainFire cluster status',
  usage: 'status [options]',
  description: [
    'Reads <data-dir>/run/up.json (written by `photoncloud up`) and asks every service for /health.',
    `In auth mode required, set ${ENV.token} to a bearer token to see the cluster status.`,
    'Exit status: 0 when everything is healthy, 1 when not running or unhealthy.',
  ].join('\n'),
  options: {
    'data-dir': {
      type: 'string',
      valueName: 'DIR',
      description: 'Data directory (default $PHOTONCLOUD_DATA_DIR or ./.data)',
    },
    json: { type: 'boolean', description: 'Print one JSON document instead of text' },
  },
};

/** One service in the status report. */
export interface ServiceStatus {
  name: string;
  pid: number | null;
  state: RunService['state'];
  restarts: number;
  healthy: boolean;
  /** Why not healthy. */
  health_error?: string;
  listeners: Array<{ name: string; address: string; url?: string; description: string }>;
  /** The service's extra status endpoint (ChainFire: cluster status), as returned, or its error. */
  details?: { title: string; data?: Record<string, unknown>; summary?: string; error?: string };
  log_file: string;
}

/** The whole report (`--json`). */
export interface StatusReport {
  running: boolean;
  data_dir: string;
  run_file: string;
  reason?: string;
  pid?: number;
  started_at?: string;
  host?: string;
  auth_mode?: string;
  services: ServiceStatus[];
}

/** Build the report (does not print). */
export async function collectStatus(dataDir: string, env: NodeJS.ProcessEnv): Promise<StatusReport> {
  const layout = dataDirLayout(dataDir);
  const base = { data_dir: dataDir, run_file: layout.upFile, services: [] };
  const read = readRunState(layout.upFile);
  if (read.kind === 'missing')
    return { ...base, running: false, reason: `PhotonCloud is not running (no ${layout.upFile})` };
  if (read.kind === 'invalid')
    return { ...base, running: false, reason: `cannot read ${layout.upFile}: ${read.reason}` };
  const st = read.state;
  if (!isPhotonCloudProcess(st.pid)) {
    return {
      ...base,
      running: false,
      reason: `PhotonCloud is not running (stale ${layout.upFile} left by pid ${st.pid})`,
    };
  }
  const token = readEnv(ENV.token, env);
  const services = await Promise.all(
    st.services.map(async (s): Promise<ServiceStatus> => {
      const http = s.listeners.find((l) => l.protocol === 'http');
      const out: ServiceStatus = {
        name: s.name,
        pid: s.pid,
        state: s.state,
        restarts: s.restarts,
        healthy: false,
        listeners: s.listeners.map((l) => ({
          name: l.name,
          address: l.address,
          description: l.description,
          ...(l.url === undefined ? {} : { url: l.url }),
        })),
        log_file: s.log_file,
      };
      if (http?.url === undefined) {
        out.health_error = 'no HTTP listener recorded';
        return out;
      }
      const health = await getJson(`${http.url}/health`, { timeoutMs: 3000 });
      out.healthy = health.ok && (health.body as { data?: { status?: unknown } }).data?.status === 'healthy';
      if (!out.healthy) out.health_error = health.ok ? 'unhealthy' : health.error;
      const endpoint = findService(s.name)?.statusEndpoint;
      if (endpoint !== undefined && out.healthy) {
        const r = await getJson(
          `${http.url}${endpoint.path}`,
          token === undefined ? { timeoutMs: 3000 } : { timeoutMs: 3000, token },
        );
        const data = r.ok ? (r.body as { data?: unknown }).data : undefined;
        if (r.ok && typeof data === 'object' && data !== null) {
          const d = data as Record<string, unknown>;
          out.details = { title: endpoint.title, data: d, summary: endpoint.summarize(d) };
        } else {
          out.details = { title: endpoint.title, error: r.ok ? 'unexpected answer' : r.error };
        }
      }
      return out;
    }),
  );
  return {
    ...base,
    running: true,
    pid: st.pid,
    started_at: st.started_at,
    host: st.host,
    auth_mode: st.auth_mode,
    services,
  };
}

/** Run `status`. */
export async function statusCommand(argv: readonly string[], io: Io, ctx: CliEnv): Promise<number> {
  const args = parseCommandArgs(statusSpec, argv);
  if (args.help) {
    io.out(formatHelp(statusSpec));
    return 0;
  }
  const dataDir = dataDirSetting(stringFlag(args, 'data-dir'), ctx);
  const report = await collectStatus(dataDir, ctx.env);
  const allHealthy = report.running && report.services.every((s) => s.healthy);
  if (boolFlag(args, 'json')) {
    io.out(JSON.stringify(report, null, 2));
    return allHealthy ? 0 : 1;
  }
  if (!report.running) {
    io.out(`${report.reason ?? 'PhotonCloud is not running'}.`);
    io.out(
      'Start it with: photoncloud up' +
        (dataDir === dataDirSetting(undefined, ctx) ? '' : ` --data-dir ${dataDir}`),
    );
    return 1;
  }
  io.out(
    `PhotonCloud is running: pid ${report.pid}, since ${report.started_at}, data dir ${dataDir}, auth mode ${report.auth_mode}`,
  );
  for (const s of report.services) {
    const health = s.healthy ? 'healthy' : `UNHEALTHY (${s.health_error ?? 'unknown'})`;
    io.out('');
    io.out(`  ${s.name}: ${health} — ${s.state}, pid ${s.pid ?? '-'}, restarts ${s.restarts}`);
    for (const l of s.listeners) io.out(`    ${(l.url ?? l.address).padEnd(28)} ${l.description}`);
    if (s.details !== undefined)
      io.out(`    ${s.details.title}: ${s.details.summary ?? `unavailable (${s.details.error ?? '?'})`}`);
    io.out(`    log: ${s.log_file}`);
  }
  return allHealthy ? 0 : 1;
}
