/** Which events a watcher receives: its key range and its filters (etcd's noput / nodelete). */
import type { Event } from '@photoncloud/store';
import { intervalContains } from './key-range.js';
import type { KeyInterval } from './key-range.js';

/** A watcher's selection. */
export interface WatchSelector {
  range: KeyInterval;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
}

/** The events of one revision batch this watcher should see, prevKv stripped unless asked for. */
export function selectEvents(sel: WatchSelector, events: readonly Event[]): Event[] {
  const out: Event[] = [];
  for (const ev of events) {
    if (ev.type === 'PUT' ? sel.noPut : sel.noDelete) continue;
    if (!intervalContains(sel.range, ev.kv.key)) continue;
    if (sel.prevKv || ev.prevKv === undefined) out.push(ev);
    else out.push({ type: ev.type, kv: ev.kv });
  }
  return out;
}
