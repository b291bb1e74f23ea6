/**
 * When each lease expires, in memory only (as etcd's lessor: keepalives are not logged, and after a
 * restart or leader change every lease gets its full TTL again). Time is an input in milliseconds.
 */
export class LeaseDeadlines {
  private readonly deadlines = new Map<string, number>();

  /** (Re)start a lease's countdown: it expires `ttlSeconds` after `nowMs`. */
  refresh(id: string, ttlSeconds: number, nowMs: number): void {
    this.deadlines.set(id, nowMs + ttlSeconds * 1000);
  }

  delete(id: string): void {
    this.deadlines.delete(id);
  }

  has(id: string): boolean {
    return this.deadlines.has(id);
  }

  /** Milliseconds left (negative once expired); undefined for an unknown lease. */
  remainingMs(id: string, nowMs: number): number | undefined {
    const d = this.deadlines.get(id);
    return d === undefined ? undefined : d - nowMs;
  }

  /** Leases whose deadline is at or before `nowMs`, earliest first. */
  expired(nowMs: number): string[] {
    const out: Array<[string, number]> = [];
    for (const [id, d] of this.deadlines) if (d <= nowMs) out.push([id, d]);
    out.sort((a, b) => a[1] - b[1]);
    return out.map(([id]) => id);
  }

  clear(): void {
    this.deadlines.clear();
  }
}
