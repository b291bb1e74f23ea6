/**
 * The Store contract suite over the wire: `EtcdStore` (the etcd v3 gRPC client adapter) talking to
 * ChainFire's etcd gRPC server on loopback, backed by the ChainFire engine — the path etcdctl and every
 * etcd client library take.
 */
import { EtcdStore } from '@photoncloud/store';
import { runStoreContract } from '@photoncloud/store/contract';
import { tempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../src/engine.js';
import { startEtcdGrpcServer } from '../src/grpc/index.js';

runStoreContract('EtcdStore → ChainFire gRPC server → engine', async () => {
  const dir = await tempDir('photoncloud-chainfire-grpc-contract-');
  const undo: Array<() => Promise<void>> = [() => dir.cleanup()];
  const cleanup = async (): Promise<void> => {
    // Client first, then server, then engine, then the data dir; each step runs even if one fails.
    let first: unknown;
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  };
  try {
    const engine = await openChainFire({ dataDir: dir.path });
    undo.push(() => engine.close());
    const server = await startEtcdGrpcServer(engine, { host: '127.0.0.1', port: 0 });
    undo.push(() => server.close());
    const store = new EtcdStore({ endpoints: [`127.0.0.1:${server.port}`] });
    undo.push(() => store.close());
    return { store, cleanup };
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
});
