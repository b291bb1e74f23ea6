/** A deterministic discrete-event queue: events run in (time, insertion order). */
interface QueuedEvent {
  time: number;
  seq: number;
  run: () => void;
}

export class EventQueue {
  private heap: QueuedEvent[] = [];
  private seq = 0;
  /** Simulated time of the event being run. */
  now = 0;

  push(time: number, run: () => void): void {
    const ev = { time: Math.max(time, this.now), seq: this.seq++, run };
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Run the next event; returns false when the queue is empty or the next event is after `until`. */
  runNext(until: number): boolean {
    const h = this.heap;
    const top = h[0];
    if (!top || top.time > until) return false;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    this.now = top.time;
    top.run();
    return true;
  }

  size(): number {
    return this.heap.length;
  }
}

function less(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
