/**
 * A complete ChainFire server: the engine (Raft + LMDB, a `Store`), the REST API on the platform's server
 * kit, and the etcd v3 gRPC API, over one data directory. This is what `photoncloud serve chainfire`
 * runs (apps/cli), and what tests and benchmarks start in-process.
 *
 * Start order: engine (replays its WAL, becomes leader) → HTTP routes → gRPC listener → HTTP listener, so
 * /health passes only once both APIs accept requests. Shutdown: stop accepting on both listeners and
 * drain in-flight requests (the server kit also flushes audit events, which go to the engine), then
 * close the engine, which flushes its storage.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import {
  ConfigError,
  ENV,
  connectHost,
  formatHostPort,
  httpUrl,
  isWildcardHost,
  readEnv,
} from '@photoncloud/config';
import type { AuthMode } from '@photoncloud/config';
import { createService, jwksVerifier } from '@photoncloud/http-kit';
import type { AuthOptions, Service } from '@photoncloud/http-kit';
import { createLogger } from '@photoncloud/log';
import type { Logger } from '@photoncloud/log';
import { openChainFire } from './engine.js';
import type { ChainFire } from './engine.js';
import { startEtcdGrpcServer } from './grpc/index.js';
import { etcdCallCheck, peerCallCheck } from './grpc/grpc-auth.js';
import { ClusterSecretError, loadClusterSecret, saveClusterSecret } from './cluster/cluster-secret.js';
import { parseInitialCluster } from './cluster/initial-cluster.js';
import type { InitialMember } from './cluster/initial-cluster.js';
import { parsePeerDial, raftServiceDefinition, raftServiceImpl } from './cluster/peer-transport.js';
import type { EtcdGrpcServer } from './grpc/index.js';
import { registerChainFireRoutes } from './routes/index.js';

/** How to run one ChainFire server. */
export interface ChainFireServerConfig {
  /** ChainFire's own directory (`<platform data dir>/chainfire`); created when missing. */
  dataDir: string;
  /** Listen address of both APIs. */
  host: string;
  /** REST port; 0 lets the OS choose. */
  httpPort: number;
  /** etcd v3 gRPC port; 0 lets the OS choose. */
  grpcPort: number;
  /** `local` (loopback requests without a token act as the local admin) or `required`. */
  authMode: AuthMode;
  /** Default: a `chainfire` logger on stdout. */
  logger?: Logger;
  /** IAM's JWKS URL, to verify bearer tokens; required in auth mode `required` unless `auth` is given. */
  jwksUrl?: string;
  /**
   * Ready authentication/authorization settings (the CLI's `buildAuth`: token verifier, revocation and
   * policy hooks). When given, they are used as they are, instead of building them from
   * `authMode`/`jwksUrl`.
   */
  auth?: AuthOptions;
  /**
   * gRPC address (`host:port`) of a member of an existing ChainFire cluster to join on first start
   * (empty data directory). Needs a fixed gRPC port and a dialable host: peers reach this member at
   * `http://<host>:<grpcPort>`.
   */
  join?: string;
  /**
   * Start a new cluster of several members at once (etcd's `--initial-cluster`): `name=peer-url,…`, the
   * same list on every member, this member's advertised URL (`http(s)://<host>:<grpcPort>`) among them.
   * Needs the same cluster secret on every member. Ignored once the data directory holds an identity.
   */
  initialCluster?: string;
  /**
   * The cluster secret (default `$PHOTONCLOUD_CLUSTER_SECRET`). A joining member needs the cluster's;
   * a new cluster's first member creates one when none is given. Kept in `<dataDir>/cluster-secret`.
   */
  clusterSecret?: string;
  /**
   * Serve the gRPC port (etcd API and peer traffic) over TLS: PEM files of this member's certificate
   * (with the IP address or name peers dial in its subjectAltName), its key, and the CA that signed the
   * members' certificates (peers are checked against it). Default: `$PHOTONCLOUD_CHAINFIRE_TLS_CERT`,
   * `…_KEY`, `…_CA`, all three or none. Every member of a cluster must use TLS, or none.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** Log entries kept for lagging followers before they need a snapshot (default 5000). */
  snapshotCatchUpEntries?: number;
  /** Checkpoint after this many applied entries (default 10 000). */
  checkpointEntries?: number;
  /** How long a request waits for a leader or quorum before 503/UNAVAILABLE (default 5000 ms). */
  requestTimeoutMs?: number;
}

/** The TLS files named by `PHOTONCLOUD_CHAINFIRE_TLS_CERT`/`_KEY`/`_CA`; all three or none. */
function tlsFromEnv(): ChainFireServerConfig['tls'] {
  const certFile = readEnv('PHOTONCLOUD_CHAINFIRE_TLS_CERT');
  const keyFile = readEnv('PHOTONCLOUD_CHAINFIRE_TLS_KEY');
  const caFile = readEnv('PHOTONCLOUD_CHAINFIRE_TLS_CA');
  if (certFile === undefined && keyFile === undefined && caFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined || caFile === undefined) {
    throw new ConfigError(
      'TLS needs a certificate, its key and the CA together',
      'Set all three of PHOTONCLOUD_CHAINFIRE_TLS_CERT, PHOTONCLOUD_CHAINFIRE_TLS_KEY and PHOTONCLOUD_CHAINFIRE_TLS_CA (PEM files), or none.',
    );
  }
  return { certFile, keyFile, caFile };
}

/** Read the TLS files; a missing or unreadable one is a ConfigError naming it. */
function loadTls(files: ChainFireServerConfig['tls']): { cert: Buffer; key: Buffer; ca: Buffer } | undefined {
  if (files === undefined) return undefined;
  const read = (what: string, file: string): Buffer => {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (e) {
      throw new ConfigError(`cannot read the TLS ${what} ${file}: ${(e as Error).message}`);
    }
    if (!data.toString('latin1').includes('-----BEGIN ')) {
      throw new ConfigError(`the TLS ${what} ${file} is not a PEM file`);
    }
    return data;
  };
  return {
    cert: read('certificate', files.certFile),
    key: read('key', files.keyFile),
    ca: read('CA certificate', files.caFile),
  };
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** A running ChainFire server. */
export interface ChainFireServer {
  /** Base URL of the REST API, as a local client dials it (e.g. `http://127.0.0.1:8081`). */
  httpUrl: string;
  /** `host:port` of the etcd v3 gRPC API, as a client dials it (e.g. `127.0.0.1:50051`). */
  grpcAddress: string;
  /** Stop accepting, drain, close the engine. Idempotent. */
  close(): Promise<void>;
}

/** ChainFire's version (its package.json). */
export const CHAINFIRE_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** Start ChainFire: engine, REST and etcd gRPC APIs. Rejects (having released everything) on failure. */
export async function startChainFireServer(cfg: ChainFireServerConfig): Promise<ChainFireServer> {
  if (cfg.auth === undefined && cfg.authMode === 'required' && cfg.jwksUrl === undefined) {
    // Checked before anything opens: every request but /health would be refused.
    throw new ConfigError(
      'auth mode "required" needs a JWKS URL to verify bearer tokens',
      `Pass --jwks-url (or set ${ENV.jwksUrl}) to IAM's JWKS endpoint, or listen on loopback for auth mode local.`,
    );
  }
  const logger = cfg.logger ?? createLogger({ service: 'chainfire' });
  const tls = loadTls(cfg.tls ?? tlsFromEnv());
  // Advertise the client URL etcd-style when it is known up front; a wildcard address is not dialable.
  const advertise =
    cfg.grpcPort !== 0 && !isWildcardHost(cfg.host)
      ? [`${tls === undefined ? 'http' : 'https'}://${formatHostPort(cfg.host, cfg.grpcPort)}`]
      : undefined;
  if ((cfg.join !== undefined || cfg.initialCluster !== undefined) && advertise === undefined) {
    throw new ConfigError(
      `${cfg.join !== undefined ? 'joining a cluster' : 'an initial cluster'} needs a fixed gRPC port on a dialable address`,
      'Pass --grpc-port <port> and a --host other than 0.0.0.0/:: so that peers can reach this member.',
    );
  }
  let initialCluster: InitialMember[] | undefined;
  if (cfg.initialCluster !== undefined) {
    if (cfg.join !== undefined) {
      throw new ConfigError(
        '--join and --initial-cluster exclude each other',
        'Start a new cluster with --initial-cluster on every member, or add a member to a running one with --join.',
      );
    }
    try {
      initialCluster = parseInitialCluster(cfg.initialCluster);
    } catch (e) {
      throw new ConfigError(
        (e as Error).message,
        'Example: --initial-cluster a=http://10.0.0.5:50051,b=http://10.0.0.6:50051,c=http://10.0.0.7:50051',
      );
    }
    if (!initialCluster.some((m) => m.peerUrl === advertise![0])) {
      throw new ConfigError(
        `this member (${advertise![0]}) is not in the initial cluster`,
        'List every member, this one included, with the scheme (https when TLS is on), host and gRPC port it listens on.',
      );
    }
  }
  const snapshotCatchUpEntries =
    cfg.snapshotCatchUpEntries ?? envInt('PHOTONCLOUD_CHAINFIRE_SNAPSHOT_CATCHUP_ENTRIES');
  const checkpointEntries = cfg.checkpointEntries ?? envInt('PHOTONCLOUD_CHAINFIRE_CHECKPOINT_ENTRIES');
  let peerDial: Map<string, string> | undefined;
  try {
    const spec = process.env.PHOTONCLOUD_CHAINFIRE_PEER_DIAL;
    if (spec !== undefined && spec !== '') peerDial = parsePeerDial(spec);
  } catch (e) {
    throw new ConfigError(
      (e as Error).message,
      'Set PHOTONCLOUD_CHAINFIRE_PEER_DIAL to a comma-separated list of advertised=dial address pairs, e.g. 10.0.0.2:50051=127.0.0.1:15051.',
    );
  }
  let clusterSecret: string;
  let secretSaved: boolean;
  try {
    mkdirSync(cfg.dataDir, { recursive: true });
    ({ secret: clusterSecret, saved: secretSaved } = loadClusterSecret(
      cfg.dataDir,
      cfg.clusterSecret ?? readEnv(ENV.clusterSecret),
      // Members of an initial cluster must all know the secret before they start, as joiners do.
      cfg.join !== undefined || (initialCluster !== undefined && initialCluster.length > 1),
    ));
  } catch (e) {
    if (e instanceof ClusterSecretError) throw new ConfigError(e.message, e.hint);
    throw e;
  }
  const engine: ChainFire = await openChainFire({
    clusterSecret,
    ...(tls === undefined ? {} : { peerTlsCa: tls.ca }),
    dataDir: cfg.dataDir,
    logger: logger.child({ component: 'engine' }),
    // Peer traffic rides on the gRPC listener: the peer URL is the client URL.
    ...(advertise === undefined ? {} : { clientUrls: advertise, peerUrls: advertise }),
    ...(cfg.join === undefined ? {} : { join: cfg.join }),
    ...(initialCluster === undefined ? {} : { initialCluster }),
    ...(snapshotCatchUpEntries === undefined ? {} : { snapshotCatchUpEntries }),
    ...(checkpointEntries === undefined ? {} : { checkpointEntries }),
    ...(peerDial === undefined ? {} : { peerDial }),
    ...(cfg.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: cfg.requestTimeoutMs }),
  });
  // Started (joined, when joining): from now on this member keeps the secret.
  if (!secretSaved) {
    try {
      saveClusterSecret(cfg.dataDir, clusterSecret);
    } catch (e) {
      await engine.close().catch(() => undefined);
      throw e;
    }
  }

  let service: Service | undefined;
  let grpc: EtcdGrpcServer | undefined;
  try {
    // In local mode a JWKS URL is optional: tokens, when sent, are verified in both modes.
    let auth: AuthOptions;
    if (cfg.auth !== undefined) auth = cfg.auth;
    else {
      auth = { mode: cfg.authMode };
      if (cfg.jwksUrl !== undefined) auth.verifyToken = jwksVerifier({ jwksUrl: cfg.jwksUrl });
    }
    service = await createService({
      name: 'chainfire',
      version: CHAINFIRE_VERSION,
      description:
        'Strongly consistent key-value store with etcd v3 semantics (REST API; etcd v3 gRPC alongside).',
      logger,
      auth,
      store: engine,
      health: {
        checks: {
          // Without a leader no write can commit: report it instead of timing out requests.
          raft: async () => {
            const s = await engine.clusterStatus();
            if (s.leaderId === '0') throw new Error(`no leader (term ${s.term}, role ${s.role})`);
          },
        },
      },
    });
    // The routes read the Raft status straight from the engine (`clusterStatus()`).
    registerChainFireRoutes(service.app, {
      store: engine,
      ...(tls === undefined ? {} : { peerUrlScheme: 'https' as const }),
    });
    grpc = await startEtcdGrpcServer(engine, {
      host: cfg.host,
      port: cfg.grpcPort,
      ...(tls === undefined ? {} : { tls: { cert: tls.cert, key: tls.key } }),
      check: etcdCallCheck(auth, clusterSecret),
      extraServices: [
        {
          definition: raftServiceDefinition,
          impl: raftServiceImpl(() => engine.peerHandlers()),
          check: peerCallCheck(clusterSecret),
        },
      ],
    });
    const http = await service.listen({ host: cfg.host, port: cfg.httpPort });
    const grpcAddress = formatHostPort(connectHost(cfg.host), grpc.port);
    logger.info(
      { http: http.url, grpc: grpcAddress, auth_mode: auth.mode, data_dir: cfg.dataDir },
      'chainfire started',
    );

    const svc = service;
    const grpcServer = grpc;
    let closing: Promise<void> | undefined;
    return {
      httpUrl: httpUrl(cfg.host, http.port),
      grpcAddress,
      close: () => {
        closing ??= (async () => {
          // Both listeners stop accepting and drain together; the engine closes only when both are done.
          const results = await Promise.allSettled([svc.close(), grpcServer.close()]);
          await engine.close();
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed !== undefined) throw failed.reason;
        })();
        return closing;
      },
    };
  } catch (err) {
    await Promise.allSettled([service?.close(), grpc?.close()]);
    await engine.close().catch(() => undefined);
    throw err;
  }
}
