/**
 * Policy-decision benchmark (in-process): how long one authorization decision takes with 1 000 policies.
 * Target: p99 ≤ 1 ms. Scenarios:
 * - `indexed`: rules spread over 20 services (the index narrows a decision to two buckets);
 * - `wildcard-heavy`: every action pattern starts with a wildcard (the index cannot help; worst case);
 * - `reference`: the brute-force reference evaluator on the `indexed` set, as the baseline.
 * Each decision is timed alone (hrtime), after a warm-up; figures are printed, nothing is asserted.
 *
 *   npm run bench:iam:policy                  # 1 000 policies, 200 000 decisions per scenario
 *   npm run bench:iam:policy -- --policies=5000 --decisions=50000 --seed=7
 */
import { PolicySet, referenceEvaluate } from '@photoncloud/authz';
import type { AuthzRequest, Policy, Rule } from '@photoncloud/authz';

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  if (a === undefined) return dflt;
  const n = Number(a.slice(name.length + 3));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

if (process.argv.includes('--help')) {
  console.log('usage: bench/iam/policy.ts [--policies=1000] [--decisions=200000] [--seed=42]');
  process.exit(0);
}
const POLICIES = arg('policies', 1000);
const DECISIONS = arg('decisions', 200_000);
const SEED = arg('seed', 42);

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

const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const SERVICES = Array.from({ length: 20 }, (_, i) => `svc${i}`);
const TYPES = ['vms', 'vpcs', 'buckets', 'zones', 'users', 'keys', 'volumes', 'images'];
const VERBS = ['list', 'get', 'create', 'update', 'delete', 'start', 'stop'];
const ORGS = Array.from({ length: 50 }, (_, i) => `org-${i}`);
const PROJECTS = Array.from({ length: 200 }, (_, i) => `proj-${i}`);
const CONDITIONS = ["user.role == 'ops'", "request.method == 'GET'", "ipInCidr(request.ip, '10.0.0.0/8')"];

function makeRule(wildcardActions: boolean): Rule {
  const svc = pick(SERVICES);
  const type = pick(TYPES);
  const action = wildcardActions
    ? pick([`*:${type}:${pick(VERBS)}`, `*${svc.slice(-1)}:${type}:*`, `?${svc.slice(1)}:*`])
    : pick([`${svc}:*`, `${svc}:${type}:*`, `${svc}:${type}:${pick(VERBS)}`, `${svc}:*:list`]);
  const org = pick(ORGS);
  const resource = pick([
    `prn:${svc}:${org}:*`,
    `prn:*:${org}:${pick(PROJECTS)}:*`,
    `prn:${svc}:*:*:${type}/*`,
  ]);
  const rule: Rule = { effect: rnd() < 0.1 ? 'Deny' : 'Allow', action, resource };
  if (rnd() < 0.1) rule.condition = pick(CONDITIONS);
  return rule;
}

function makePolicies(wildcardActions: boolean): Policy[] {
  return Array.from({ length: POLICIES }, (_, i) => ({
    id: `pol-${i}`,
    name: `policy ${i}`,
    rules: Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => makeRule(wildcardActions)),
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
  }));
}

function makeRequests(n: number): AuthzRequest[] {
  return Array.from({ length: n }, () => {
    const svc = pick(SERVICES);
    const type = pick(TYPES);
    return {
      action: `${svc}:${type}:${pick(VERBS)}`,
      resource: `prn:${svc}:${pick(ORGS)}:${pick(PROJECTS)}:${type}/id-${Math.floor(rnd() * 1e6)}`,
      context: {
        user: { id: 'u-1', roles: rnd() < 0.5 ? ['ops'] : ['dev'] },
        request: {
          method: pick(['GET', 'POST']),
          ip: pick(['10.1.2.3', '192.168.0.9']),
          time: '2026-03-01T12:00:00Z',
        },
      },
    };
  });
}

interface Result {
  scenario: string;
  rules: number;
  decisions: number;
  compile_ms: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  per_second: number;
  allowed: number;
}

function run(
  scenario: string,
  policies: Policy[],
  decide: (set: PolicySet, r: AuthzRequest) => string,
  n: number,
): Result {
  const t0 = process.hrtime.bigint();
  const set = new PolicySet(policies);
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const reqs = makeRequests(Math.min(n, 50_000));
  for (let i = 0; i < Math.min(5_000, n); i++) decide(set, reqs[i % reqs.length] as AuthzRequest); // warm-up
  const times = new Float64Array(n);
  let allowed = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    if (decide(set, reqs[i % reqs.length] as AuthzRequest) === 'allow') allowed++;
    times[i] = Number(process.hrtime.bigint() - a) / 1000;
  }
  const totalS = Number(process.hrtime.bigint() - start) / 1e9;
  times.sort();
  const q = (p: number): number =>
    Math.round((times[Math.min(n - 1, Math.floor(p * n))] as number) * 10) / 10;
  return {
    scenario,
    rules: set.size,
    decisions: n,
    compile_ms: Math.round(compileMs * 10) / 10,
    p50_us: q(0.5),
    p99_us: q(0.99),
    p999_us: q(0.999),
    max_us: Math.round((times[n - 1] as number) * 10) / 10,
    per_second: Math.round(n / totalS),
    allowed,
  };
}

const indexed = makePolicies(false);
const wildcard = makePolicies(true);
const results = [
  run('indexed', indexed, (s, r) => s.evaluate(r).decision, DECISIONS),
  run('wildcard-heavy', wildcard, (s, r) => s.evaluate(r).decision, DECISIONS),
  run(
    'reference (baseline)',
    indexed,
    (_s, r) => referenceEvaluate(indexed, r).decision,
    Math.max(1, Math.floor(DECISIONS / 100)),
  ),
];

console.log(`policy decisions, ${POLICIES} policies, seed ${SEED}, node ${process.version}`);
console.table(results);
for (const r of results.slice(0, 2)) {
  console.log(
    `${r.scenario}: p99 ${r.p99_us} µs — target ≤ 1000 µs: ${r.p99_us <= 1000 ? 'met' : 'NOT met'}`,
  );
}
