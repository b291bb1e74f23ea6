/**
 * A minimal QMP client (QEMU Machine Protocol, newline-delimited JSON over a unix socket): connect, read the
 * greeting, negotiate capabilities, run commands, skip asynchronous events. One short-lived connection per
 * use, because QEMU's QMP socket serves one client at a time.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** A QMP error answer (`{"error": {"class", "desc"}}`) or a transport failure. */
export class QmpError extends Error {
  constructor(
    message: string,
    readonly qmpClass?: string,
  ) {
    super(message);
    this.name = 'QmpError';
  }
}

/** An open QMP session. */
export class QmpSession {
  private buf = '';
  private waiters: Array<(msg: Record<string, unknown> | Error) => void> = [];
  private closed = false;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      this.buf += chunk;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (line === '') continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if ('event' in msg) continue; // Asynchronous events are not awaited by anyone here.
        this.waiters.shift()?.(msg);
      }
    });
    const fail = (err: Error) => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(err);
    };
    sock.on('error', (err) => fail(new QmpError(`QMP socket: ${err.message}`)));
    sock.on('close', () => fail(new QmpError('QMP socket closed')));
  }

  /** Connect to `path` and negotiate capabilities. */
  static async open(path: string, timeoutMs = 5000): Promise<QmpSession> {
    const sock = connect(path);
    const session = new QmpSession(sock);
    try {
      await withTimeout(session.next(), timeoutMs, 'QMP greeting');
      await session.execute('qmp_capabilities', undefined, timeoutMs);
      return session;
    } catch (err) {
      sock.destroy();
      throw err instanceof Error ? err : new QmpError(String(err));
    }
  }

  private next(): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new QmpError('QMP socket closed'));
    return new Promise((resolve, reject) => {
      this.waiters.push((m) => (m instanceof Error ? reject(m) : resolve(m)));
    });
  }

  /** Run a command; resolves with its `return` value. */
  async execute(command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
    const reply = this.next();
    this.sock.write(
      `${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`,
    );
    const msg = await withTimeout(reply, timeoutMs, `QMP ${command}`);
    if ('error' in msg) {
      const e = msg['error'] as { class?: string; desc?: string };
      throw new QmpError(`${command}: ${e.desc ?? 'error'}`, e.class);
    }
    return msg['return'];
  }

  /** Close the connection. */
  close(): void {
    this.sock.destroy();
  }
}

/** Open a session, run one command, close. */
export async function qmpCommand(
  path: string,
  command: string,
  args?: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<unknown> {
  const s = await QmpSession.open(path, timeoutMs);
  try {
    return await s.execute(command, args, timeoutMs);
  } finally {
    s.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QmpError(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
