/**
 * IAM benchmark (`npm run bench:iam`): what every request pays for identity, and what a login costs.
 *
 * 1. Token verification in-process — http-kit's `jwksVerifier` against IAM's JWKS URL (keys fetched
 *    once and cached, as every service does), over a pool of real IAM-signed tokens. Goal ≥ 10 000/s.
 *    Anchor: bare `jose.jwtVerify` with the public key already imported (the floor of EdDSA checks).
 * 2. Password login throughput — `POST /api/v1/auth/login` over HTTP with C concurrent clients (argon2id
 *    m=19 MiB, t=2 bound, plus a token pair written to the Store). Anchor: bare argon2 `verify` calls at
 *    the same concurrency (the cost login cannot go below).
 *
 * IAM runs in-process over a ChainFire engine in a temp dir, on a free loopback port. Prints absolute
 * figures and ratios (PhotonCloud / anchor). Options: --quick (short runs), --seconds=N, --concurrency=N.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { verify as argonVerify } from '@node-rs/argon2';
import { importJWK, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { jwksVerifier } from '@photoncloud/http-kit';
import { createLogger } from '@photoncloud/log';
import { openChainFire } from '../../services/chainfire/src/engine.js';
import { hashPassword } from '../../services/iam/src/credentials/password.js';
import { IAM_ISSUER, startIamServer } from '../../services/iam/src/server.js';

interface Options {
  seconds: number;
  concurrency: number;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const num = (name: string, def: number): number => {
    const a = argv.find((x) => x.startsWith(`--${name}=`));
    if (a === undefined) return def;
    const n = Number(a.slice(name.length + 3));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  return { seconds: num('seconds', quick ? 2 : 5), concurrency: num('concurrency', 4) };
}

/** Run `fn` in a closed loop for `seconds` (after a short warm-up); returns operations/s and latencies (ms). */
async function closedLoop(seconds: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  const warmEnd = performance.now() + 300;
  let i = 0;
  while (performance.now() < warmEnd) await fn(i++);
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await fn(i++);
        lat.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { ops: lat.length, perSecond: lat.length / elapsed, p50: q(0.5), p99: q(0.99) };
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'bench-iam-'));
  const cf = await openChainFire({ dataDir: join(dir, 'chainfire') });
  const iam = await startIamServer({
    store: cf,
    auth: { mode: 'local' },
    logger: createLogger({ service: 'iam', level: 'silent' }),
    dataDir: join(dir, 'iam'),
  });
  try {
    const password = iam.bootstrap!.password;
    const call = async (path: string, body: unknown) => {
      const res = await fetch(iam.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
      return ((await res.json()) as { data: Record<string, unknown> }).data;
    };

    // ---- 1. token verification ----
    const tokens: string[] = [];
    for (let i = 0; i < 100; i++) {
      tokens.push(
        String((await call('/api/v1/auth/token', { principal_id: 'admin', ttl_seconds: 3600 }))['token']),
      );
    }
    const verifyToken = jwksVerifier({ jwksUrl: `${iam.url}/.well-known/jwks.json`, issuer: IAM_ISSUER });
    await verifyToken(tokens[0]!); // fetch and cache the JWKS
    const ours = await closedLoop(opts.seconds, 1, (i) => verifyToken(tokens[i % tokens.length]!));
    // Every verification a full signature check (the verified-token cache off): a stream of new tokens.
    const coldVerify = jwksVerifier({
      jwksUrl: `${iam.url}/.well-known/jwks.json`,
      issuer: IAM_ISSUER,
      cacheSize: 0,
    });
    await coldVerify(tokens[0]!);
    const cold = await closedLoop(opts.seconds, 1, (i) => coldVerify(tokens[i % tokens.length]!));
    const jwk = iam.ctx.keyring.jwks().keys[0] as JWK;
    const key = await importJWK(jwk, 'EdDSA');
    const anchor = await closedLoop(opts.seconds, 1, (i) =>
      jwtVerify(tokens[i % tokens.length]!, key, { algorithms: ['EdDSA'], issuer: IAM_ISSUER }),
    );

    // ---- 2. password login ----
    const login = await closedLoop(opts.seconds, opts.concurrency, () =>
      call('/api/v1/auth/login', { username: 'admin', password }),
    );
    const phc = await hashPassword(password);
    const argon = await closedLoop(opts.seconds, opts.concurrency, () => argonVerify(phc, password));

    const goal = ours.perSecond >= 10_000 ? 'meets' : 'MISSES';
    console.log(`IAM benchmark (${opts.seconds} s per scenario, node ${process.version})`);
    console.log('');
    console.log('token verification, in-process, 1 caller');
    console.log(
      `  jwksVerifier, 100 tokens reused      ${fmt(ours.perSecond).padStart(9)} /s   p50 ${fmt(ours.p50 * 1000, 1)} µs   p99 ${fmt(ours.p99 * 1000, 1)} µs   (${goal} the 10 000/s goal)`,
    );
    console.log(
      `  jwksVerifier, every check in full    ${fmt(cold.perSecond).padStart(9)} /s   p50 ${fmt(cold.p50 * 1000, 1)} µs   p99 ${fmt(cold.p99 * 1000, 1)} µs   (${cold.perSecond >= 10_000 ? 'meets' : 'MISSES'} the 10 000/s goal)`,
    );
    console.log(
      `  anchor: bare jose.jwtVerify          ${fmt(anchor.perSecond).padStart(9)} /s   p50 ${fmt(anchor.p50 * 1000, 1)} µs   p99 ${fmt(anchor.p99 * 1000, 1)} µs`,
    );
    console.log(
      `  ratio PhotonCloud / anchor           ${fmt(ours.perSecond / anchor.perSecond, 2)} reused, ${fmt(cold.perSecond / anchor.perSecond, 2)} in full`,
    );
    console.log('');
    console.log(`password login, ${opts.concurrency} concurrent clients (argon2id m=19456 KiB, t=2, p=1)`);
    console.log(
      `  POST /api/v1/auth/login (HTTP)       ${fmt(login.perSecond, 1).padStart(9)} /s   p50 ${fmt(login.p50, 1)} ms   p99 ${fmt(login.p99, 1)} ms`,
    );
    console.log(
      `  anchor: bare argon2 verify           ${fmt(argon.perSecond, 1).padStart(9)} /s   p50 ${fmt(argon.p50, 1)} ms   p99 ${fmt(argon.p99, 1)} ms`,
    );
    console.log(`  ratio PhotonCloud / anchor           ${fmt(login.perSecond / argon.perSecond, 2)}`);
  } finally {
    await iam.close();
    await cf.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
