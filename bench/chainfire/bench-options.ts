/** Command-line options of `npm run bench:chainfire`. */
import { CHECK_PERF_LOADS, type CheckPerfLoad } from './check-perf.js';

/** The systems a run can start; both by default. */
export const TARGET_NAMES = ['chainfire', 'etcd'] as const;

/** Everything a bench run is configured by. */
export interface BenchOptions {
  quick: boolean;
  /** Run `etcdctl check perf` against both (default: yes, except in quick mode). */
  checkPerf: boolean;
  checkPerfLoad: CheckPerfLoad;
  /** Measured seconds per load-generator scenario and target. */
  durationSec: number;
  /** Unmeasured warm-up seconds before each scenario. */
  warmupSec: number;
  /** Each scenario runs this many times per target; the best round counts (default 2; quick 1). */
  rounds: number;
  /** Concurrency levels for the put and get scenarios. */
  clients: number[];
  /** Value size in bytes. */
  valueSize: number;
  /** Profile ChainFire with `node --cpu-prof` and summarise where its CPU time goes. */
  profile: boolean;
  /** Where the JSON result (and profiles) go. */
  outDir: string;
  /** Which systems to start and measure (default both; one alone gives absolute figures only). */
  targets: Array<(typeof TARGET_NAMES)[number]>;
}

/** A bad command line: printed with the usage text, exit status 2. */
export class BenchUsageError extends Error {}

/** Usage text for --help and errors. */
export const BENCH_USAGE = `Usage: npm run bench:chainfire -- [options]
  (or: node --import tsx bench/chainfire/run.ts [options])

ChainFire vs etcd 3.4, single node each, same machine, same client, same run.

  --quick              smoke run: 2 s per scenario, no etcdctl check perf
  --load s|m|l|xl      etcdctl check perf workload (default s; each run takes 60 s per server)
  --no-check-perf      skip etcdctl check perf
  --check-perf         run etcdctl check perf even with --quick
  --duration SEC       measured seconds per scenario (default 10; quick 2)
  --warmup SEC         warm-up seconds before each scenario (default 1; quick 0.3)
  --rounds N           runs per scenario and server, best one counts (default 2; quick 1)
  --clients LIST       concurrency levels, comma-separated (default 1,16,64)
  --value-size BYTES   value size (default 256)
  --profile            run ChainFire under node --cpu-prof and print where its CPU time goes
  --out DIR            results directory (default bench/results)
  --targets LIST       chainfire,etcd (default both; one alone prints no ratios)
  -h, --help           this text`;

function positive(name: string, raw: string | undefined, { integer = false, max = Infinity } = {}): number {
  if (raw === undefined || raw === '') throw new BenchUsageError(`${name} needs a value`);
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)) || n > max) {
    throw new BenchUsageError(
      `${name} must be a positive ${integer ? 'integer' : 'number'}${max < Infinity ? ` <= ${max}` : ''}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** Parse argv (without node and the script). Throws `BenchUsageError` on bad input; `null` means --help. */
export function parseBenchArgs(argv: readonly string[], defaultOutDir: string): BenchOptions | null {
  const quick = argv.includes('--quick');
  const opts: BenchOptions = {
    quick,
    checkPerf: !quick,
    checkPerfLoad: 's',
    durationSec: quick ? 2 : 10,
    warmupSec: quick ? 0.3 : 1,
    rounds: quick ? 1 : 2,
    clients: [1, 16, 64],
    valueSize: 256,
    profile: false,
    outDir: defaultOutDir,
    targets: [...TARGET_NAMES],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    // Both `--flag value` and `--flag=value`.
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '-h':
      case '--help':
        return null;
      case '--quick':
        break;
      case '--check-perf':
        opts.checkPerf = true;
        break;
      case '--no-check-perf':
        opts.checkPerf = false;
        break;
      case '--load': {
        const v = value();
        if (v === undefined || !Object.hasOwn(CHECK_PERF_LOADS, v)) {
          throw new BenchUsageError(
            `--load must be one of ${Object.keys(CHECK_PERF_LOADS).join(', ')}, got ${JSON.stringify(v)}`,
          );
        }
        opts.checkPerfLoad = v as CheckPerfLoad;
        break;
      }
      case '--duration':
        opts.durationSec = positive('--duration', value(), { max: 3600 });
        break;
      case '--warmup': {
        const v = value();
        opts.warmupSec = v === '0' ? 0 : positive('--warmup', v, { max: 600 });
        break;
      }
      case '--rounds':
        opts.rounds = positive('--rounds', value(), { integer: true, max: 100 });
        break;
      case '--clients': {
        const v = value();
        if (v === undefined) throw new BenchUsageError('--clients needs a value');
        opts.clients = v.split(',').map((c) => positive('--clients', c.trim(), { integer: true, max: 4096 }));
        break;
      }
      case '--value-size':
        opts.valueSize = positive('--value-size', value(), { integer: true, max: 1024 * 1024 });
        break;
      case '--profile':
        opts.profile = true;
        break;
      case '--out': {
        const v = value();
        if (!v) throw new BenchUsageError('--out needs a directory');
        opts.outDir = v;
        break;
      }
      case '--targets': {
        const names = (value() ?? '').split(',').map((t) => t.trim());
        const bad = names.filter((t) => !(TARGET_NAMES as readonly string[]).includes(t));
        if (bad.length > 0 || names.length === 0) {
          throw new BenchUsageError(
            `--targets takes a list of ${TARGET_NAMES.join(', ')}, got ${JSON.stringify(bad.join(','))}`,
          );
        }
        opts.targets = TARGET_NAMES.filter((t) => names.includes(t));
        break;
      }
      default:
        throw new BenchUsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  return opts;
}
