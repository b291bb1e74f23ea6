/**
 * Differential test: the indexed evaluator against the brute-force reference over seeded random policy sets
 * and requests. Set AUTHZ_DIFF_SEED to replay a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthzRequest, Policy, Rule } from '../types.js';
import { PolicySet } from './evaluate.js';
import { referenceEvaluate } from './reference.js';

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVICES = ['vpc', 'iam', 'v', 'vp', 's3'];
const TYPES = ['vpcs', 'users', 'v', 'kv'];
const VERBS = ['list', 'get', 'create', 'start'];
const ORGS = ['o1', 'o2', '*'];
const IDS = ['1', 'a:b', 'x/y', '*'];
const CONDITIONS = [
  "user.role == 'admin'",
  "user.role != 'dev'",
  "resource.org_id == 'o1'",
  "startsWith(request.action, 'vpc:')",
  "request.method == 'GET' && !(user.id == 'u2')",
  'user.role ==',
  "resource.type in ['vpcs', 'kv']",
];

function generator(seed: number) {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const action = (): string => `${pick(SERVICES)}:${pick(TYPES)}:${pick(VERBS)}`;
  const resource = (): string =>
    `prn:${pick(SERVICES)}:${pick(ORGS)}:${pick(ORGS)}:${pick(TYPES)}/${pick(IDS)}`;
  /** Turn a concrete string into a pattern by replacing random pieces with wildcards. */
  const globify = (s: string): string => {
    let out = '';
    let i = 0;
    while (i < s.length) {
      const x = r();
      if (x < 0.08) {
        out += '*';
        i += Math.floor(r() * 6);
      } else if (x < 0.12) {
        out += '?';
        i++;
      } else if (x < 0.13) {
        out += 'q';
        i++;
      } else {
        out += s[i];
        i++;
      }
    }
    if (r() < 0.1) out += '*';
    return out;
  };
  const pattern = (concrete: () => string): string | string[] => {
    const x = r();
    if (x < 0.1) return '*';
    if (x < 0.2) return [globify(concrete()), globify(concrete())];
    if (x < 0.3) return concrete();
    return globify(concrete());
  };
  const rule = (): Rule => {
    const out: Rule = {
      effect: r() < 0.25 ? 'Deny' : 'Allow',
      action: pattern(action),
      resource: pattern(resource),
    };
    if (r() < 0.2) out.condition = pick(CONDITIONS);
    return out;
  };
  const policies = (): Policy[] => {
    const n = r() < 0.05 ? 40 : 1 + Math.floor(r() * 6);
    return Array.from({ length: n }, (_, i) => ({
      id: `p${i}`,
      name: `p${i}`,
      rules: Array.from({ length: 1 + Math.floor(r() * 4) }, rule),
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
    }));
  };
  const request = (): AuthzRequest => ({
    action: r() < 0.05 ? pick(SERVICES) : action(),
    resource: r() < 0.05 ? 'not-a-prn' : resource(),
    context: {
      user: { id: pick(['u1', 'u2']), roles: r() < 0.5 ? ['admin'] : ['dev', 'ops'] },
      request: { method: pick(['GET', 'POST']) },
    },
  });
  return { policies, request, r };
}

test('indexed evaluator == reference evaluator on 100,000 seeded random (policies, request) pairs', () => {
  const seed = process.env.AUTHZ_DIFF_SEED !== undefined ? Number(process.env.AUTHZ_DIFF_SEED) : 20260401;
  const g = generator(seed);
  const PAIRS = 100_000;
  let mismatches = 0;
  let firstBad: string | undefined;
  const reasons = { allow: 0, 'explicit-deny': 0, 'implicit-deny': 0 };
  let pairs = 0;
  while (pairs < PAIRS) {
    const ps = g.policies();
    const set = new PolicySet(ps);
    // Several requests per set, so compiled sets are reused as in production.
    for (let k = 0; k < 5 && pairs < PAIRS; k++, pairs++) {
      const q = g.request();
      const got = set.evaluate(q);
      const want = referenceEvaluate(ps, q);
      reasons[want.reason]++;
      try {
        assert.deepEqual(got, want);
      } catch {
        mismatches++;
        firstBad ??= JSON.stringify({ policies: ps, request: q, got, want });
      }
    }
  }
  assert.equal(mismatches, 0, `seed ${seed}: ${mismatches} mismatches; first: ${firstBad}`);
  // The generator must exercise every outcome, or the comparison proves little.
  for (const [k, v] of Object.entries(reasons)) assert.ok(v > 2_000, `seed ${seed}: only ${v} × ${k}`);
});
