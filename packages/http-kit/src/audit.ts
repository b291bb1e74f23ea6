/**
 * Audit events (ARCHITECTURE.md §3, "Audit"): every mutating request (POST/PUT/PATCH/DELETE) emits one
 * event after its response — who, what, which resource, outcome. Sinks are fire-and-forget: auditing
 * never slows down or fails the request it describes; a sink that cannot write logs the failure.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@photoncloud/log';
import type { Store } from '@photoncloud/store';
import { bytes } from '@photoncloud/store';

/** Who made an audited request (`null` when nobody could be authenticated). */
export interface AuditPrincipal {
  id: string;
  kind: 'token' | 'local';
  org_id?: string;
  project_id?: string;
}

/** One audit event, as stored (snake_case JSON). */
export interface AuditEvent {
  /** Time-sortable unique ID (see `sortableId`). */
  id: string;
  /** RFC 3339 UTC with milliseconds. */
  time: string;
  service: string;
  principal: AuditPrincipal | null;
  method: string;
  /** The route pattern, e.g. `/api/v1/vms/:id/start`; `null` when no route matched. */
  route: string | null;
  /** The request path (no query string). */
  path: string;
  resource_id?: string;
  status_code: number;
  /** `success` (2xx/3xx), `denied` (401/403) or `failure`. */
  outcome: 'success' | 'denied' | 'failure';
  request_id: string;
}

/** Where audit events go. `emit` must not throw and must not block. */
export interface AuditSink {
  emit(event: AuditEvent): void;
  /** Wait for events already emitted to be written (used on shutdown). */
  flush?(): Promise<void>;
}

let lastMs = 0;
let seq = 0;

/**
 * A unique ID that sorts by creation time: 12 hex digits of milliseconds, 4 of a per-millisecond
 * sequence (monotonic within this process), 8 random. Lexicographic order = time order.
 */
export function sortableId(now: number = Date.now()): string {
  if (now === lastMs) {
    seq = (seq + 1) & 0xffff;
  } else {
    lastMs = now;
    seq = 0;
  }
  return (
    now.toString(16).padStart(12, '0') + seq.toString(16).padStart(4, '0') + randomBytes(4).toString('hex')
  );
}

/** Outcome from a status code. */
export function outcomeOf(statusCode: number): AuditEvent['outcome'] {
  if (statusCode === 401 || statusCode === 403) return 'denied';
  return statusCode < 400 ? 'success' : 'failure';
}

/** Key prefix of audit events in the store. */
export const AUDIT_PREFIX = '/photoncloud/audit/';

/** Options of `StoreAuditSink`. */
export interface StoreAuditSinkOptions {
  /** Where write failures are reported. */
  logger?: Logger;
  /** Writes allowed in flight before new events are dropped (and counted in a log line); default 1000. */
  maxPending?: number;
}

/**
 * Writes each event as JSON to `/photoncloud/audit/<sortable id>`. Writes run in the background; at
 * most `maxPending` at once, so a stalled store cannot make memory grow without bound.
 */
export class StoreAuditSink implements AuditSink {
  private readonly pending = new Set<Promise<void>>();
  private readonly maxPending: number;
  private dropped = 0;

  constructor(
    private readonly store: Store,
    readonly service: string,
    private readonly opts: StoreAuditSinkOptions = {},
  ) {
    this.maxPending = opts.maxPending ?? 1000;
  }

  emit(event: AuditEvent): void {
    if (this.pending.size >= this.maxPending) {
      this.dropped += 1;
      this.opts.logger?.error(
        { audit_id: event.id, dropped: this.dropped },
        'audit sink saturated: event dropped',
      );
      return;
    }
    const p = this.store
      .put({ key: bytes(AUDIT_PREFIX + event.id), value: bytes(JSON.stringify(event)) })
      .then(
        () => undefined,
        (err: unknown) => {
          this.opts.logger?.error({ err, audit: event }, 'audit event could not be written');
        },
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

/** Writes each event as one log line (`msg: "audit"`, the event under `audit`). */
export class LogAuditSink implements AuditSink {
  constructor(private readonly logger: Logger) {}

  emit(event: AuditEvent): void {
    this.logger.info({ audit: event }, 'audit');
  }
}
