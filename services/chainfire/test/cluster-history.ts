/**
 * Client histories against a real ChainFire cluster, for the fault tests: clients that put and get
 * a handful of keys over REST against the members and record every call and return, and the final
 * check (every member applies everything and agrees; the whole history is linearizable, which also
 * proves that no acknowledged write was lost). A write that failed or timed out counts as "may or may
 * not have happened"; a failed read has no effect and is left out.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { checkLinearizable, kvModel } from '@photoncloud/raft';
import type { KvInput, KvOutput, Operation } from '@photoncloud/raft';
import { waitFor } from '@photoncloud/test-utils';
import type { Cluster } from './cluster-harness.js';

export const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
/** Upper bound of the randomized election timeout: electionTick 10 × 2 × tick 100 ms. */
export const MAX_ELECTION_TIMEOUT_MS = 2000;
/** How long a member keeps trying a write (ChainFire's default requestTimeoutMs). */
export const REQUEST_TIMEOUT_MS = 5000;

type Op = Operation<KvInput, KvOutput>;

/** What the clients recorded. */
export interface Recorder {
  ops: Op[];
  acked: number;
  failed: number;
}

export async function restPut(url: string, key: string, value: string): Promise<'ok' | 'failed'> {
  try {
    const r = await fetch(`${url}/api/v1/kv/${key}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value }),
      signal: AbortSignal.timeout(2500),
    });
    await r.text();
    return r.status === 200 ? 'ok' : 'failed';
  } catch {
    return 'failed';
  }
}

export async function restGet(url: string, key: string): Promise<{ value: string | null } | undefined> {
  try {
    const r = await fetch(`${url}/api/v1/kv/${key}`, { signal: AbortSignal.timeout(2500) });
    const body = (await r.json()) as { data?: { value: string } };
    if (r.status === 200) return { value: body.data!.value };
    if (r.status === 404) return { value: null };
    return undefined;
  } catch {
    return undefined;
  }
}

/** A recorded put on member `m` (outcome unknown when it failed). */
export async function recordedPut(
  c: Cluster,
  rec: Recorder,
  clientId: number,
  m: number,
  key: string,
  value: string,
  t0: number,
): Promise<'ok' | 'failed'> {
  const call = performance.now() - t0;
  const res = await restPut(c.members[m]!.httpUrl, key, value);
  const ret = res === 'ok' ? performance.now() - t0 : Infinity;
  rec.ops.push({ clientId, input: { kind: 'put', key, value }, output: {}, call, ret });
  if (res === 'ok') rec.acked++;
  else rec.failed++;
  return res;
}

/** One client: ops never overlap; after a write with an unknown outcome it continues under a new ID. */
export async function client(
  c: Cluster,
  firstId: number,
  rec: Recorder,
  stop: () => boolean,
  t0: number,
): Promise<void> {
  let id = firstId;
  let seq = 0;
  let member = firstId % c.members.length;
  while (!stop()) {
    const key = KEYS[(id * 7 + seq) % KEYS.length]!;
    if (seq % 3 !== 2) {
      const res = await recordedPut(c, rec, id, member, key, `${firstId}-${seq}`, t0);
      if (res === 'failed') {
        id += 1000;
        member = (member + 1) % c.members.length;
        await new Promise((r) => setTimeout(r, 50));
      }
    } else {
      const call = performance.now() - t0;
      const res = await restGet(c.members[member]!.httpUrl, key);
      const ret = performance.now() - t0;
      if (res)
        rec.ops.push({ clientId: id, input: { kind: 'get', key }, output: { value: res.value }, call, ret });
      else member = (member + 1) % c.members.length;
    }
    seq++;
  }
}

/**
 * Wait for every member to apply everything the leader committed, read every key from every member
 * (they must agree; the reads join the history) and check the history for linearizability.
 */
export async function checkFinalState(
  t: TestContext,
  cluster: Cluster,
  rec: Recorder,
  t0: number,
): Promise<void> {
  const all = cluster.members.map((m) => m.index);
  const leader = await cluster.waitLeader();
  const lead = await cluster.status(leader);
  await waitFor(
    async () => {
      const st = await Promise.all(all.map((i) => cluster.status(i)));
      return st.every((s) => s !== undefined && s.applied_index >= lead!.commit_index);
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'every member to apply everything' },
  );
  for (const key of KEYS) {
    const seen: Array<string | null> = [];
    for (const m of all) {
      const call = performance.now() - t0;
      const r = await restGet(cluster.members[m]!.httpUrl, key);
      assert.ok(r, `final read of ${key} on member ${m}`);
      rec.ops.push({
        clientId: 9000 + m,
        input: { kind: 'get', key },
        output: { value: r.value },
        call,
        ret: performance.now() - t0,
      });
      seen.push(r.value);
    }
    assert.ok(
      seen.every((v) => v === seen[0]),
      `members agree on ${key}: ${JSON.stringify(seen)}`,
    );
  }
  const result = checkLinearizable(kvModel, rec.ops);
  t.diagnostic(
    `${rec.ops.length} operations, ${rec.acked} acknowledged writes, ${rec.failed} with unknown outcome; checker ${result.result} in ${result.steps} steps`,
  );
  if (result.result === 'illegal') {
    // Print the key's history, so that a failure can be analysed from the CI log.
    const key = [...new Set(rec.ops.map((o) => o.input.key))].sort()[result.failedPartition ?? 0];
    for (const o of rec.ops.filter((x) => x.input.key === key).sort((a, b) => a.call - b.call))
      t.diagnostic(
        `${o.call.toFixed(1)}..${o.ret.toFixed(1)} c${o.clientId} ${o.input.kind} ${o.input.key} ${o.input.value ?? ''} -> ${o.output.value ?? ''}`,
      );
  }
  assert.equal(
    result.result,
    'ok',
    `history of ${rec.ops.length} operations (${rec.acked} acknowledged writes, ${rec.failed} unknown) is not linearizable: ${JSON.stringify(result)}`,
  );
}
