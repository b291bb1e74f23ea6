/** The Store contract suite against the ChainFire engine, in-process (a fresh data dir per run). */
import { runStoreContract } from '@photoncloud/store/contract';
import { tempDir } from '@photoncloud/test-utils';
import { openChainFire } from '../src/engine.js';

runStoreContract('ChainFire engine (in-process)', async () => {
  const dir = await tempDir('photoncloud-chainfire-contract-');
  try {
    const store = await openChainFire({ dataDir: dir.path });
    return {
      store,
      cleanup: async () => {
        try {
          await store.close();
        } finally {
          await dir.cleanup();
        }
      },
    };
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
});
