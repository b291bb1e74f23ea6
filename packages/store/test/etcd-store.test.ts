/** The Store contract suite against a real etcd 3.4 (Debian's etcd-server), through `EtcdStore`. */
import { startEtcd } from '@photoncloud/test-utils';
import { EtcdStore } from '../src/etcd-store.js';
import { runStoreContract } from './contract.js';

runStoreContract('EtcdStore → etcd 3.4', async () => {
  const etcd = await startEtcd();
  const store = new EtcdStore({ endpoints: [etcd.endpoint] });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await etcd.stop();
    },
  };
});
