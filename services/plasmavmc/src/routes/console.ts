/**
 * The serial console. `GET /api/v1/vms/{id}/console` hands out a WebSocket URL with a token that is valid
 * for 60 s (HMAC-SHA256 with the install's secret from ChainFire, bound to the VM). The WebSocket endpoint
 * (`/api/v1/vms/{id}/console/ws?token=…`) checks the token, replays the tail of the serial log (QEMU's
 * chardev logfile) and then bridges the socket both ways to the VM's serial chardev (a unix socket).
 * QEMU's chardev serves one client at a time: a second console waits until the first disconnects.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { ConflictError } from '@photoncloud/errors';
import { envelope, ok, responses } from '@photoncloud/http-kit';
import type { ServiceApp } from '@photoncloud/http-kit';
import { ConsoleAccess, IdParams, scopeQueryProperties } from '@photoncloud/plasmavmc-api';
import type { Logger } from '@photoncloud/log';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { consoleAvailable, visibleState } from '../core/vm-state.js';
import type { VmRepo } from '../storage/vm-repo.js';
import { scopeOf } from './scope.js';
import { vmInScope } from './vm-routes.js';

/** Lifetime of a console token. */
export const CONSOLE_TOKEN_TTL_MS = 60_000;
/** Bytes of past serial output replayed to a new console. */
const REPLAY_BYTES = 64 * 1024;
const WS_PATH = /^\/api\/v1\/vms\/([A-Za-z0-9._-]+)\/console\/ws$/;

/** What the console needs. */
export interface ConsoleDeps {
  repo: VmRepo;
  nowMs(): number;
  logger: Logger;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** Sign a console token for `vmId` valid until `expiresMs`. */
export function signConsoleToken(secret: Uint8Array, vmId: string, expiresMs: number): string {
  const payload = b64url(JSON.stringify({ vm: vmId, exp: expiresMs }));
  const mac = createHmac('sha256', secret).update(payload).digest();
  return `${payload}.${b64url(mac)}`;
}

/** The VM a token grants, or why it does not. */
export function verifyConsoleToken(
  secret: Uint8Array,
  token: string,
  vmId: string,
  nowMs: number,
): { ok: true } | { ok: false; reason: string } {
  const [payload, mac, extra] = token.split('.');
  if (payload === undefined || mac === undefined || extra !== undefined)
    return { ok: false, reason: 'malformed token' };
  const want = createHmac('sha256', secret).update(payload).digest();
  const got = Buffer.from(mac, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want))
    return { ok: false, reason: 'bad signature' };
  let claims: { vm?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  if (claims.vm !== vmId) return { ok: false, reason: 'token is for another VM' };
  if (typeof claims.exp !== 'number' || claims.exp <= nowMs) return { ok: false, reason: 'token expired' };
  return { ok: true };
}

/** The last `bytes` before offset `end` of a file (empty when it does not exist). */
async function tail(path: string, end: number, bytes: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const start = Math.max(0, end - bytes);
    const buf = Buffer.alloc(Math.max(0, end - start));
    await fh.read(buf, 0, buf.length, start);
    return buf;
  } finally {
    await fh.close();
  }
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({
    success: false,
    error: {
      code: status === 401 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : 'CONFLICT',
      message: reason,
      details: null,
    },
  });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Conflict'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Register `GET …/console` and the WebSocket endpoint on the service's HTTP server. */
export function registerConsole(app: ServiceApp, deps: ConsoleDeps): { close(): void } {
  const { repo } = deps;
  let secret: Promise<Uint8Array> | undefined;
  const getSecret = () =>
    (secret ??= repo.consoleSecret().catch((err: unknown) => {
      secret = undefined;
      throw err;
    }));

  app.get(
    '/api/v1/vms/:id/console',
    {
      schema: {
        tags: ['vms'],
        summary: 'Get a serial console URL',
        description: `A WebSocket URL with a token valid for ${CONSOLE_TOKEN_TTL_MS / 1000} s. 409 unless the VM is Running.`,
        params: IdParams,
        querystring: Type.Object(scopeQueryProperties),
        response: responses({ 200: envelope(ConsoleAccess) }),
      },
    },
    async (request) => {
      const id = request.params.id;
      const vm = await vmInScope(repo, id, scopeOf(request, request.query));
      const state = visibleState(vm.value, await repo.getStatus(id));
      if (!consoleAvailable(state)) {
        throw new ConflictError(`the console needs a Running VM; this one is ${state}`, {
          details: { state },
        });
      }
      const expires = deps.nowMs() + CONSOLE_TOKEN_TTL_MS;
      const token = signConsoleToken(await getSecret(), id, expires);
      const host = request.headers.host ?? `${request.hostname}`;
      return ok(request, {
        url: `ws://${host}/api/v1/vms/${id}/console/ws?token=${encodeURIComponent(token)}`,
        token,
        expires_at: new Date(expires).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
    },
  );

  const wss = new WebSocketServer({ noServer: true });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = WS_PATH.exec(url.pathname);
    if (m === null) {
      refuse(socket, 404, 'no WebSocket endpoint here');
      return;
    }
    const vmId = m[1] as string;
    void (async () => {
      const v = verifyConsoleToken(
        await getSecret(),
        url.searchParams.get('token') ?? '',
        vmId,
        deps.nowMs(),
      );
      if (!v.ok) return refuse(socket, 401, v.reason);
      const vm = await repo.getVm(vmId);
      const status = await repo.getStatus(vmId);
      if (vm === undefined) return refuse(socket, 404, `VM ${vmId} not found`);
      if (!consoleAvailable(visibleState(vm.value, status)) || status?.serial_socket == null) {
        return refuse(socket, 409, 'the VM is not running');
      }
      const serialPath = status.serial_socket;
      const logPath = status.serial_log;
      wss.handleUpgrade(req, socket, head, (ws) => {
        bridge(ws, serialPath, logPath, deps.logger);
      });
    })().catch((err: unknown) => {
      deps.logger.warn({ err }, 'console upgrade failed');
      socket.destroy();
    });
  };
  app.server.on('upgrade', onUpgrade);
  return {
    close() {
      app.server.off('upgrade', onUpgrade);
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}

function bridge(ws: WebSocket, serialPath: string, logPath: string | null, logger: Logger): void {
  // What the log holds before the socket connects is replayed from the log; what comes after, from the
  // socket, so nothing is shown twice.
  let logEnd = 0;
  try {
    if (logPath !== null) logEnd = statSync(logPath).size;
  } catch {
    logEnd = 0;
  }
  const serial = connect(serialPath);
  const pending: Buffer[] = [];
  let replayed = false;
  serial.on('data', (d: Buffer) => {
    if (!replayed) pending.push(d);
    else if (ws.readyState === ws.OPEN) ws.send(d);
  });
  serial.on('error', (err) => {
    logger.debug({ err }, 'serial console socket error');
    ws.close(1011, 'serial console unavailable');
  });
  serial.on('close', () => {
    if (ws.readyState === ws.OPEN) ws.close(1000, 'serial console closed');
  });
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    serial.write(buf);
  });
  ws.on('close', () => serial.destroy());
  ws.on('error', () => serial.destroy());
  void (async () => {
    if (logPath !== null) {
      const past = await tail(logPath, logEnd, REPLAY_BYTES);
      if (past.length > 0 && ws.readyState === ws.OPEN) ws.send(past);
    }
    replayed = true;
    for (const d of pending) if (ws.readyState === ws.OPEN) ws.send(d);
    pending.length = 0;
  })();
}
