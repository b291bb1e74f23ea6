/**
 * `photoncloud up`: the whole platform on one machine. Each service runs in its own child process
 * (`photoncloud serve <service> …`) under a `Supervisor`; `up` waits until every /health passes, prints
 * what is listening, records PIDs and ports in <data-dir>/run/up.json, and stays in the foreground until
 * SIGINT/SIGTERM, when it stops the children gracefully (SIGKILL by PID after a timeout).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ENV,
  connectHost,
  dataDirLayout,
  formatHostPort,
  httpUrl,
  parseAuthMode,
  readEnv,
  resolveAuthMode,
} from '@photoncloud/config';
import { formatHelp, parseCommandArgs, stringFlag } from '../args.js';
import { parseEndpoints, requiredNeedsJwks } from './serve.js';
import type { CommandSpec } from '../args.js';
import { CliError } from '../cli-error.js';
import { isHealthy } from '../http-probe.js';
import type { Io } from '../io.js';
import { BIN_PATH } from '../paths.js';
import { planPorts, plannedListeners, probePort } from '../port-plan.js';
import { isPhotonCloudProcess, readRunState, removeRunState, writeRunState } from '../run-state.js';
import type { RunListener, RunService, RunState } from '../run-state.js';
import { SERVICES } from '../services.js';
import type { ServiceDefinition } from '../services.js';
import {
  dataDirSetting,
  hostSetting,
  portOffsetSetting,
  portOverridesSetting,
  secondsSetting,
} from '../settings.js';
import type { CliEnv } from '../settings.js';
import { Supervisor } from '../supervisor.js';

/** `up`'s flags and help. */
export const upSpec: CommandSpec = {
  name: 'up',
  summary: 'Start the whole platform on this machine (foreground)',
  usage: 'up [options]',
  description: [
    'Starts every service in its own supervised process (restarted on crash, with backoff), waits until',
    'each /health passes, prints what is listening and stays in the foreground; Ctrl-C (SIGINT) or',
    'SIGTERM stops everything. Logs: <data-dir>/logs/<service>.log; PIDs and ports: <data-dir>/run/up.json.',
    'Auth mode is local on loopback; any other --host forces required (bearer tokens).',
  ].join('\n'),
  options: {
    'data-dir': {
      type: 'string',
      valueName: 'DIR',
      description: 'Data directory (default $PHOTONCLOUD_DATA_DIR or ./.data)',
    },
    host: {
      type: 'string',
      valueName: 'ADDR',
      description: 'Listen address of every service (default $PHOTONCLOUD_HOST or 127.0.0.1)',
    },
    'port-offset': {
      type: 'string',
      valueName: 'N',
      description: 'Add N to every default port (default $PHOTONCLOUD_PORT_OFFSET or 0)',
    },
    ports: {
      type: 'string',
      valueName: 'LIST',
      description: 'Explicit ports, e.g. chainfire.http=18081,chainfire.grpc=15051 (also $PHOTONCLOUD_PORTS)',
    },
    'auth-mode': {
      type: 'string',
      valueName: 'MODE',
      description: 'Force "required" on loopback too (local is refused off loopback)',
    },
    'ready-timeout': {
      type: 'string',
      valueName: 'SECONDS',
      description: 'How long each service may take to become healthy (default 120)',
    },
    'stop-timeout': {
      type: 'string',
      valueName: 'SECONDS',
      description: 'Grace period before SIGKILL on shutdown (default 15)',
    },
    join: {
      type: 'string',
      valueName: 'ADDR',
      description:
        'Add this machine to an existing PhotonCloud: its ChainFire joins the cluster of the member at this gRPC host:port (set $PHOTONCLOUD_CLUSTER_SECRET to <data dir>/chainfire/cluster-secret of that member)',
    },
    'initial-cluster': {
      type: 'string',
      valueName: 'LIST',
      description:
        "Start several machines at once: ChainFire's members name=http://host:50051,… (the same list and $PHOTONCLOUD_CLUSTER_SECRET on every machine; first start only)",
    },
  },
  examples: [
    'photoncloud up',
    'photoncloud up --port-offset 1000 --data-dir /tmp/pc',
    'photoncloud up --host 0.0.0.0',
    'photoncloud up --host 10.0.0.6 --join 10.0.0.5:50051',
  ],
};

/** Consecutive deaths before a service that never became healthy is given up on. */
const MAX_EARLY_FAILURES = 3;
const POLL_MS = 200;

/** Options for tests. */
export interface UpOptions {
  /** Resolves when the platform should stop; default SIGINT/SIGTERM. */
  stopSignal?: Promise<string>;
}

interface Member {
  def: ServiceDefinition;
  sup: Supervisor;
  rec: RunService;
  httpUrl: string;
  ready: boolean;
}

/** Run `up`; resolves with the exit code once everything has stopped. */
export async function upCommand(
  argv: readonly string[],
  io: Io,
  ctx: CliEnv,
  opts: UpOptions = {},
): Promise<number> {
  const args = parseCommandArgs(upSpec, argv);
  if (args.help) {
    io.out(formatHelp(upSpec));
    return 0;
  }
  const dataDir = dataDirSetting(stringFlag(args, 'data-dir'), ctx);
  const host = hostSetting(stringFlag(args, 'host'), ctx);
  const plan = planPorts(SERVICES, {
    offset: portOffsetSetting(stringFlag(args, 'port-offset'), ctx),
    overrides: portOverridesSetting(stringFlag(args, 'ports'), ctx),
  });
  const requestedMode = stringFlag(args, 'auth-mode');
  const auth = resolveAuthMode(host, requestedMode === undefined ? undefined : parseAuthMode(requestedMode));
  const readyTimeoutMs = secondsSetting(stringFlag(args, 'ready-timeout'), '--ready-timeout', 120);
  const stopTimeoutMs = secondsSetting(stringFlag(args, 'stop-timeout'), '--stop-timeout', 15);
  const joinFlag = stringFlag(args, 'join');
  const join = joinFlag === undefined ? undefined : parseEndpoints(joinFlag, '--join')[0];
  const initialCluster = stringFlag(args, 'initial-cluster');
  const layout = dataDirLayout(dataDir);
  // Every service keeps its state in this machine's ChainFire and verifies tokens with this machine's IAM.
  const dial = connectHost(host);
  const cfGrpc = plan.get('chainfire')?.['grpc'];
  const storeEndpoints = cfGrpc === undefined ? undefined : formatHostPort(dial, cfGrpc);
  const iamHttp = plan.get('iam')?.['http'];
  const jwksUrl =
    readEnv(ENV.jwksUrl, ctx.env) ??
    (iamHttp === undefined ? undefined : `${httpUrl(dial, iamHttp)}/.well-known/jwks.json`);
  if (auth.mode === 'required' && jwksUrl === undefined) throw requiredNeedsJwks(auth.reason);
  // NightLight scrapes every service's /metrics, so the platform monitors itself.
  const scrapeTargets = plannedListeners(SERVICES, plan)
    .filter((p) => p.listener.protocol === 'http')
    .map((p) => `${p.service}=${httpUrl(dial, p.port)}/metrics`)
    .join(',');
  // Every child learns where the others are (their ports may be overridden on this command line only).
  const serviceUrls = plannedListeners(SERVICES, plan)
    .filter((p) => p.listener.name === 'http')
    .map((p) => `${p.service}=${httpUrl(dial, p.port)}`)
    .join(',');

  // One platform per data directory.
  const previous = readRunState(layout.upFile);
  if (
    previous.kind === 'ok' &&
    previous.state.pid !== process.pid &&
    isPhotonCloudProcess(previous.state.pid)
  ) {
    throw new CliError(
      `PhotonCloud is already running on this data directory (pid ${previous.state.pid}, ${layout.upFile})`,
      {
        hint: 'Stop it first (Ctrl-C in its terminal, or kill -TERM <pid>), or use another --data-dir.',
      },
    );
  }

  // Every port must be free before anything starts: a half-started platform helps nobody.
  const busy: string[] = [];
  for (const p of plannedListeners(SERVICES, plan)) {
    const probe = await probePort(host, p.port, p.listener.protocol);
    if (!probe.free)
      busy.push(`${p.service}.${p.listener.name} (${p.listener.description}): ${probe.reason}`);
  }
  if (busy.length > 0) {
    throw new CliError(
      `cannot start: ${busy.length === 1 ? 'a port is' : 'ports are'} not available\n  ${busy.join('\n  ')}`,
      {
        hint: 'Stop what uses them, or move PhotonCloud with --port-offset N or --ports service.listener=port,…',
      },
    );
  }

  await mkdir(layout.logs, { recursive: true });
  await mkdir(layout.run, { recursive: true });
  if (previous.kind === 'ok') io.out(`Replacing stale run state left by pid ${previous.state.pid}.`);

  io.out(`Starting PhotonCloud — data dir ${dataDir}`);
  io.out(`${auth.reason.charAt(0).toUpperCase()}${auth.reason.slice(1)}.`);

  const state: RunState = {
    version: 1,
    pid: process.pid,
    state: 'starting',
    started_at: new Date().toISOString(),
    data_dir: dataDir,
    host,
    auth_mode: auth.mode,
    services: [],
  };
  let writing: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    const snapshot = JSON.parse(JSON.stringify(state)) as RunState;
    writing = writing.then(
      () => writeRunState(layout.upFile, snapshot),
      () => writeRunState(layout.upFile, snapshot),
    );
    return writing.catch((err: unknown) =>
      io.err(`warning: cannot write ${layout.upFile}: ${(err as Error).message}`),
    );
  };

  // Stop requests: the first starts a graceful shutdown, the second kills the children at once.
  let stopReason: string | undefined;
  let stopWake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stopWake = resolve));
  const members: Member[] = [];
  let forced = false;
  const requestStop = (reason: string): void => {
    if (stopReason !== undefined) {
      if (!forced) {
        forced = true;
        io.out(`${reason} again: killing every service now.`);
        for (const m of members) m.sup.kill();
      }
      return;
    }
    stopReason = reason;
    stopWake();
  };
  const onSignal = (sig: NodeJS.Signals): void => requestStop(sig);
  if (opts.stopSignal === undefined) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  } else {
    void opts.stopSignal.then(requestStop);
  }

  let failure: CliError | undefined;
  try {
    for (const def of SERVICES) {
      const ports = plan.get(def.name) ?? {};
      const member = startMember(def, ports, {
        host,
        dataDir,
        authMode: auth.mode,
        ...(storeEndpoints === undefined ? {} : { storeEndpoints }),
        scrapeTargets,
        serviceUrls,
        ...(jwksUrl === undefined ? {} : { jwksUrl }),
        ...(join === undefined ? {} : { join }),
        ...(initialCluster === undefined ? {} : { initialCluster }),
        logFile: layout.logFile(def.name),
        ctx,
        io,
        save,
        isStopping: () => stopReason !== undefined,
      });
      members.push(member);
      state.services.push(member.rec);
      await save();
      const outcome = await waitReady(member, readyTimeoutMs, () => stopReason !== undefined);
      if (outcome !== 'ready') {
        if (outcome !== 'stopped')
          failure = new CliError(
            `${def.name} did not start: ${outcome}\n${await logTail(member.rec.log_file)}`,
            { hint: `Full log: ${member.rec.log_file}` },
          );
        break;
      }
    }
    if (failure === undefined && stopReason === undefined) {
      state.state = 'running';
      await save();
      printReady(io, state, layout.upFile, layout.logs);
      await stopped;
    }
  } finally {
    io.out(
      failure === undefined
        ? `Stopping PhotonCloud (${stopReason ?? 'shutdown'})…`
        : 'Stopping the services that did start…',
    );
    state.state = 'stopping';
    for (const m of members) m.rec.state = 'stopping';
    await save();
    for (const m of [...members].reverse()) {
      const wasRunning = m.sup.pid !== undefined;
      const graceful = await m.sup.stop(stopTimeoutMs);
      m.rec.state = 'stopped';
      m.rec.pid = null;
      if (wasRunning) {
        io.out(
          graceful
            ? `  ${m.def.name} stopped`
            : `  ${m.def.name} killed (did not stop within ${stopTimeoutMs / 1000} s)`,
        );
      }
    }
    await writing.catch(() => undefined);
    await removeRunState(layout.upFile);
    if (opts.stopSignal === undefined) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  if (failure !== undefined) throw failure;
  io.out('PhotonCloud stopped.');
  return forced ? 1 : 0;
}

interface MemberContext {
  host: string;
  dataDir: string;
  authMode: 'local' | 'required';
  /** ChainFire's gRPC address, passed to every other service. */
  storeEndpoints?: string;
  /** IAM's JWKS URL, passed to every other service. */
  jwksUrl?: string;
  /** ChainFire: a member of the cluster to join (`up --join`). */
  join?: string;
  /** ChainFire: the members of a new cluster (`up --initial-cluster`). */
  initialCluster?: string;
  /** Every service's /metrics URL (comma-separated), NightLight's default scrape targets. */
  scrapeTargets: string;
  /** `name=url,…` of every service's REST API, passed as PHOTONCLOUD_SERVICE_URLS. */
  serviceUrls: string;
  logFile: string;
  ctx: CliEnv;
  io: Io;
  save: () => Promise<void>;
  isStopping: () => boolean;
}

/** Where NightLight reads its scrape targets (apps/cli/src/services/nightlight.ts). */
const NIGHTLIGHT_TARGETS_ENV = 'PHOTONCLOUD_NIGHTLIGHT_SCRAPE_TARGETS';

/** Create and start the supervisor of one service, wiring its events to up.json and the terminal. */
function startMember(def: ServiceDefinition, ports: Record<string, number>, mc: MemberContext): Member {
  const listeners: RunListener[] = def.listeners.map((l) => {
    const port = ports[l.name] ?? l.defaultPort;
    const rl: RunListener = {
      name: l.name,
      protocol: l.protocol,
      description: l.description,
      port,
      address: formatHostPort(mc.host, port),
    };
    if (l.protocol === 'http') rl.url = httpUrl(mc.host, port);
    return rl;
  });
  const args = ['serve', def.name, '--data-dir', mc.dataDir, '--host', mc.host, '--auth-mode', mc.authMode];
  for (const l of def.listeners) args.push(l.flag, String(ports[l.name] ?? l.defaultPort));
  if (def.name !== 'chainfire' && mc.storeEndpoints !== undefined)
    args.push('--store-endpoints', mc.storeEndpoints);
  if (def.name !== 'iam' && mc.jwksUrl !== undefined) args.push('--jwks-url', mc.jwksUrl);
  if (def.name === 'chainfire' && mc.join !== undefined) args.push('--join', mc.join);
  if (def.name === 'chainfire' && mc.initialCluster !== undefined)
    args.push('--initial-cluster', mc.initialCluster);
  const rec: RunService = {
    name: def.name,
    title: def.title,
    pid: null,
    state: 'starting',
    restarts: 0,
    started_at: null,
    log_file: mc.logFile,
    listeners,
  };
  const time = (): string => new Date().toISOString().slice(11, 19);
  const sup = new Supervisor({
    name: def.name,
    command: process.execPath,
    args: [BIN_PATH, ...args],
    env: {
      ...mc.ctx.env,
      ...(def.name === 'nightlight' && mc.ctx.env[NIGHTLIGHT_TARGETS_ENV] === undefined
        ? { [NIGHTLIGHT_TARGETS_ENV]: mc.scrapeTargets }
        : {}),
      // The operator's own entries (later) win over the plan's.
      [ENV.serviceUrls]: [mc.serviceUrls, mc.ctx.env[ENV.serviceUrls] ?? '']
        .filter((x) => x !== '')
        .join(','),
    },
    cwd: mc.ctx.cwd,
    logFile: mc.logFile,
    // `member` is declared below; events only start with `sup.start()`, after it exists.
    onEvent: (ev) => {
      if (ev.type === 'spawn') {
        rec.pid = ev.pid;
        rec.restarts = member.sup.restarts;
        rec.started_at = member.sup.startedAt;
        rec.state = member.ready ? 'restarting' : 'starting';
        void mc.save();
        if (member.ready) {
          mc.io.out(`[${time()}] ${def.name} restarted (pid ${ev.pid}, restart #${rec.restarts})`);
          void watchRecovery(member, ev.pid, mc);
        }
      } else {
        if (mc.isStopping()) return;
        rec.pid = null;
        rec.state = 'restarting';
        void mc.save();
        const how =
          ev.type === 'exit'
            ? ev.signal !== null
              ? `killed by ${ev.signal}`
              : `exited with code ${ev.code}`
            : `could not be started (${ev.error})`;
        const pid = ev.type === 'exit' ? ` (pid ${ev.pid})` : '';
        const next = ev.restartInMs === null ? '' : `; restarting in ${ev.restartInMs / 1000} s`;
        mc.io.out(`[${time()}] ${def.name}${pid} ${how}${next} — log: ${mc.logFile}`);
      }
    },
  });
  const member: Member = {
    def,
    rec,
    sup,
    httpUrl: listeners.find((l) => l.protocol === 'http')?.url ?? httpUrl(mc.host, ports['http'] ?? 0),
    ready: false,
  };
  sup.start();
  return member;
}

/** After a restart, poll /health until the new child answers, then mark it running again. */
async function watchRecovery(member: Member, pid: number, mc: MemberContext): Promise<void> {
  // Bounded by the child's life: the loop ends when it dies (a new loop starts with the next spawn) or on stop.
  while (!mc.isStopping() && member.sup.pid === pid) {
    if (await isHealthy(member.httpUrl)) {
      if (mc.isStopping() || member.sup.pid !== pid) return;
      member.sup.markHealthy();
      member.rec.state = 'running';
      await mc.save();
      mc.io.out(`[${new Date().toISOString().slice(11, 19)}] ${member.def.name} is ready again (pid ${pid})`);
      return;
    }
    await sleep(POLL_MS);
  }
}

/** Wait until the member's /health passes; or say why it never will. */
async function waitReady(
  member: Member,
  timeoutMs: number,
  isStopping: () => boolean,
): Promise<'ready' | 'stopped' | string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isStopping()) return 'stopped';
    if (member.sup.failures >= MAX_EARLY_FAILURES)
      return `it exited ${member.sup.failures} times without becoming healthy`;
    if (Date.now() > deadline) return `/health did not pass within ${timeoutMs / 1000} s`;
    if (member.sup.pid !== undefined && (await isHealthy(member.httpUrl))) {
      member.ready = true;
      member.sup.markHealthy();
      member.rec.state = 'running';
      return 'ready';
    }
    await sleep(POLL_MS);
  }
}

/** The last lines of a log file, indented, for a failure message. */
async function logTail(file: string, lines = 15): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    const tail = text.trimEnd().split('\n').slice(-lines);
    return `last lines of ${file}:\n${tail.map((l) => `  | ${l}`).join('\n')}`;
  } catch {
    return `(no log at ${file})`;
  }
}

/** The "what is listening" table. */
function printReady(io: Io, state: RunState, upFile: string, logsDir: string): void {
  io.out('');
  io.out(
    `PhotonCloud is up (${state.services.length} service${state.services.length === 1 ? '' : 's'}, auth mode ${state.auth_mode}).`,
  );
  const rows: Array<[string, string, string, string]> = [['SERVICE', 'PID', 'LISTENING', 'WHAT']];
  for (const s of state.services) {
    s.listeners.forEach((l, i) => {
      rows.push([
        i === 0 ? s.name : '',
        i === 0 ? String(s.pid ?? '-') : '',
        l.url ?? l.address,
        l.description,
      ]);
    });
  }
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
  for (const r of rows)
    io.out(
      `  ${r[0].padEnd(w[0] ?? 0)}  ${r[1].padEnd(w[1] ?? 0)}  ${r[2].padEnd(w[2] ?? 0)}  ${r[3]}`.trimEnd(),
    );
  io.out('');
  io.out(`Logs: ${logsDir}/<service>.log   Run state: ${upFile}`);
  io.out('Check with `photoncloud status`. Press Ctrl-C to stop.');
}
