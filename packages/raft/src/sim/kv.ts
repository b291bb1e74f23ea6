/**
 * The replicated state machine of the simulation: a string KV map with client sessions, so that a
 * command retried by a client (same client ID and sequence number) takes effect at most once.
 */

/** A write a client proposes through Raft. */
export interface PutCommand {
  client: number;
  seq: number;
  key: string;
  value: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodePut(cmd: PutCommand): Uint8Array {
  return enc.encode(JSON.stringify(cmd));
}

export function decodePut(data: Uint8Array): PutCommand {
  return JSON.parse(dec.decode(data)) as PutCommand;
}

/** The KV state machine: applied in log order, snapshotted for compaction. */
export class KvStateMachine {
  private data = new Map<string, string>();
  /** Highest sequence number applied per client (duplicate suppression). */
  private sessions = new Map<number, number>();
  applied = 0;

  /** Apply a normal entry at `index` (empty data is a leader's no-op). */
  apply(index: number, data: Uint8Array): void {
    if (index !== this.applied + 1) {
      throw new Error(`kv: apply of index ${index} after ${this.applied}`);
    }
    this.applied = index;
    if (data.length === 0) return;
    const cmd = decodePut(data);
    if ((this.sessions.get(cmd.client) ?? 0) >= cmd.seq) return; // a retry of an applied command
    this.sessions.set(cmd.client, cmd.seq);
    this.data.set(cmd.key, cmd.value);
  }

  /** Record that a non-KV entry (membership change) at `index` was applied. */
  skip(index: number): void {
    if (index !== this.applied + 1) throw new Error(`kv: skip of index ${index} after ${this.applied}`);
    this.applied = index;
  }

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    return enc.encode(
      JSON.stringify({ applied: this.applied, data: [...this.data], sessions: [...this.sessions] }),
    );
  }

  /** Replace the state with a snapshot taken at `index` (empty data: the empty state). */
  restore(index: number, snap: Uint8Array): void {
    if (snap.length === 0) {
      this.data = new Map();
      this.sessions = new Map();
    } else {
      const v = JSON.parse(dec.decode(snap)) as {
        applied: number;
        data: Array<[string, string]>;
        sessions: Array<[number, number]>;
      };
      if (v.applied !== index) throw new Error(`kv: snapshot of ${v.applied} restored as ${index}`);
      this.data = new Map(v.data);
      this.sessions = new Map(v.sessions);
    }
    this.applied = index;
  }
}
