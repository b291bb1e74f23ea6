/**
 * Child process of engine-crash.test.ts: opens ChainFire on argv[2] and writes unique keys
 * `crash/<round>/<i>` from many concurrent writers, printing `ACK <key> <revision>` for each write
 * once it is acknowledged, until it is killed (or, as a bound, after argv[4] writes).
 * Small WAL segments and frequent checkpoints make WAL compaction happen during the run.
 */
import { bytes } from '@photoncloud/store';
import { openChainFire } from '../src/engine.js';

const [dataDir, round = '0', maxArg = '100000', writersArg = '16'] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: engine-crash-writer <dataDir> [round] [max] [writers]');
const max = Number(maxArg);
const cf = await openChainFire({ dataDir, walSegmentBytes: 64 * 1024, checkpointEntries: 500 });
process.stdout.write('READY\n');
let next = 0;
async function writer(): Promise<void> {
  while (next < max) {
    const i = next++;
    const key = `crash/${round}/${i}`;
    const r = await cf.put({ key: bytes(key), value: bytes(`value-${round}-${i}`) });
    // Pipes are synchronous on Linux: the line is in the pipe before the next write starts.
    process.stdout.write(`ACK ${key} ${r.header.revision}\n`);
  }
}
await Promise.all(Array.from({ length: Number(writersArg) }, writer));
await cf.close();
process.stdout.write('DONE\n');
