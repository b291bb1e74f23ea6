/**
 * etcdctl (Debian's 3.4 client) against ChainFire's etcd gRPC server behaves as against etcd: every
 * session below runs against a fresh real etcd and a fresh server, and the normalised transcripts
 * (stdout, stderr, exit code of every command) must be equal.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startProcess, tempDir, waitFor } from '@photoncloud/test-utils';
import {
  compareSessions,
  engineBackend,
  proxyBackend,
  startUnderTest,
  Ctl,
  type Backend,
  type Step,
} from './etcdctl-harness.js';

/** The server on an EtcdStore proxy to a real etcd, and on ChainFire's own engine. */
const backends: Backend[] = [proxyBackend, engineBackend];

function assertSame(reference: Step[], ours: Step[]): void {
  assert.equal(ours.length, reference.length);
  for (let i = 0; i < reference.length; i++) {
    assert.deepEqual(ours[i], reference[i], `step ${i}: etcdctl ${reference[i]!.cmd}`);
  }
}

function leaseId(stdout: string): string {
  const m = /lease ([0-9a-f]+) granted/.exec(stdout);
  assert.ok(m, `no lease id in ${JSON.stringify(stdout)}`);
  return m[1]!;
}

for (const backend of backends) {
  describe(`etcdctl against the gRPC server on ${backend.name} behaves as against etcd 3.4`, () => {
    test('put / get / del: prefixes, revisions, JSON, sorting, limits, errors, compaction', async () => {
      const { reference, ours } = await compareSessions(backend, async (ctl) => {
        await ctl.run(['put', 'a', '1']);
        await ctl.run(['put', 'a', '2']);
        await ctl.run(['put', 'b', '3']);
        await ctl.run(['put', 'dir/x', 'X']);
        await ctl.run(['put', 'dir/y', 'Y']);
        await ctl.run(['put', '--prev-kv', 'dir/x', 'X2']);
        await ctl.run(['put', '--prev-kv', 'dir/x', 'X3', '-w', 'json']);
        await ctl.run(['get', 'a']);
        await ctl.run(['get', 'a', '--rev=2']);
        await ctl.run(['get', 'a', '-w', 'json']);
        await ctl.run(['get', 'a', '-w', 'fields']);
        await ctl.run(['get', 'nope']);
        await ctl.run(['get', 'dir/', '--prefix']);
        await ctl.run(['get', 'dir/', '--prefix', '--keys-only']);
        await ctl.run(['get', 'dir/', '--prefix', '--print-value-only']);
        await ctl.run(['get', '', '--prefix', '--limit=2']);
        await ctl.run(['get', '', '--prefix', '--limit=2', '-w', 'json']);
        await ctl.run(['get', '', '--prefix', '--sort-by=MODIFY', '--order=DESCEND']);
        await ctl.run(['get', '', '--prefix', '--sort-by=VALUE', '--order=ASCEND']);
        await ctl.run(['get', '', '--prefix', '--count-only', '-w', 'json']);
        await ctl.run(['get', 'b', '--from-key']);
        await ctl.run(['get', 'a', 'b']);
        await ctl.run(['get', 'a', '--rev=99']);
        await ctl.run(['put', '', 'x']);
        await ctl.run(['get', '']);
        await ctl.run(['put', 'c', '--ignore-value']);
        await ctl.run(['put', 'a', '--ignore-value']);
        await ctl.run(['get', 'a']);
        await ctl.run(['put', 'a', 'v', '--lease=1234']);
        await ctl.run(['del', 'nope']);
        await ctl.run(['del', '--prev-kv', 'a']);
        await ctl.run(['del', '--prefix', 'dir/', '--prev-kv', '-w', 'json']);
        await ctl.run(['del', 'b', '--from-key']);
        await ctl.run(['get', '', '--prefix']);
        await ctl.run(['put', 'z', '1']);
        await ctl.run(['compaction', '3']);
        await ctl.run(['compaction', '3']);
        await ctl.run(['compaction', '999']);
        await ctl.run(['get', 'a', '--rev=2']);
        await ctl.run(['get', 'a', '--rev=3']);
        await ctl.run(['compaction', '--physical', '4']);
      });
      assertSame(reference, ours);
    });

    test('lease grant / keep-alive --once / timetolive --keys / list / revoke', async () => {
      // etcd lists a lease's keys in no particular order (it keeps them in a Go map); the remaining
      // TTL depends on when the command ran.
      const sortKeys = (s: string) =>
        s
          .replace(/"ttl":\d+,"granted-ttl"/g, '"ttl":<n>,"granted-ttl"')
          .replace(
            /attached keys\(\[([^\]]*)\]\)/g,
            (_m, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`,
          )
          .replace(
            /"keys":\[([^\]]*)\]/g,
            (_m, keys: string) => `"keys":[${keys.split(',').sort().join(',')}]`,
          );
      const { reference, ours } = await compareSessions(backend, async (ctl) => {
        const id = leaseId((await ctl.run(['lease', 'grant', '300'])).stdout);
        await ctl.run(['lease', 'list']);
        await ctl.run(['put', 'lk1', 'v', `--lease=${id}`]);
        await ctl.run(['put', 'lk2', 'v', `--lease=${id}`]);
        await ctl.run(['get', 'lk1', '-w', 'json']);
        await ctl.run(['lease', 'timetolive', id]);
        await ctl.run(['lease', 'timetolive', id, '--keys'], { normalize: sortKeys });
        await ctl.run(['lease', 'timetolive', id, '--keys', '-w', 'json'], { normalize: sortKeys });
        await ctl.run(['lease', 'keep-alive', '--once', id]);
        await ctl.run(['put', 'lk1', 'w', '--ignore-lease']);
        await ctl.run(['get', 'lk1', '-w', 'json']);
        await ctl.run(['lease', 'revoke', id]);
        await ctl.run(['get', 'lk', '--prefix']);
        await ctl.run(['lease', 'timetolive', id]);
        await ctl.run(['lease', 'revoke', id]);
        await ctl.run(['lease', 'keep-alive', '--once', id]);
        await ctl.run(['lease', 'keep-alive', '--once', '1234']);
        await ctl.run(['lease', 'timetolive', '1234']);
        await ctl.run(['lease', 'grant', '9000000001']);
        await ctl.run(['lease', 'list']);
      });
      assertSame(reference, ours);
    });

    test('txn over stdin: compares on value/version/create/mod, success and failure branches', async () => {
      const { reference, ours } = await compareSessions(backend, async (ctl) => {
        await ctl.run(['put', 'k', 'v1']);
        await ctl.run(['put', 'other', 'o']);
        await ctl.run(['txn'], {
          input:
            [
              'value("k") = "v1"',
              'version("k") = "1"',
              'mod("k") < "3"',
              '',
              'put k v2',
              'get k',
              'del other',
              '',
              'put k never',
              '',
            ].join('\n') + '\n',
        });
        await ctl.run(['txn', '-w', 'json'], {
          input: ['create("k") > "100"', '', 'put k never', '', 'get k', 'get other', ''].join('\n') + '\n',
        });
        await ctl.run(['txn'], {
          input: ['val("k") != "v2"', '', 'put x 1', '', 'put y 1', ''].join('\n') + '\n',
        });
        // Interactive mode prompts for each part and reads the answers from stdin.
        await ctl.run(['txn', '-i'], {
          input: ['version("k") > "0"', '', 'get k', '', 'get other', ''].join('\n') + '\n',
        });
        // One branch writing a key twice: etcd refuses the whole transaction.
        await ctl.run(['txn'], { input: ['', 'put d 1', 'put d 2', '', ''].join('\n') + '\n' });
        await ctl.run(['get', '', '--prefix']);
      });
      assertSame(reference, ours);
    });

    test('watch: history from a revision, live events, prefixes, prev-kv, compacted start', async () => {
      const { reference, ours } = await compareSessions(backend, async (ctl) => {
        await ctl.run(['put', 'w/a', '1']);
        await ctl.run(['put', 'w/b', '2']);
        await ctl.run(['del', 'w/a']);
        // From revision 1 the history replays whatever the timing, so outputs are comparable.
        const all = await ctl.watch(['--prefix', 'w/', '--rev=1']);
        const prev = await ctl.watch(['--prev-kv', 'w/b', '--rev=1']);
        await all.waitForOutput(/DELETE\nw\/a\n/);
        await ctl.run(['put', 'w/b', '3']);
        await ctl.run(['put', 'w/c', '4']);
        await ctl.run(['put', 'other', 'x']);
        await all.waitForOutput(/w\/c\n4\n/);
        await prev.waitForOutput(/w\/b\n3\n/);
        // How events are batched into responses depends on timing while a watch is live; a watch that
        // only replays finished history gets it in one response, on etcd as on ChainFire.
        const one = await ctl.watch(['w/b', '--rev=1', '-w', 'json']);
        await one.waitForOutput(/"value":"Mw=="/);
        await ctl.finishWatch(all, '--prefix w/ --rev=1');
        await ctl.finishWatch(prev, '--prev-kv w/b --rev=1');
        await ctl.finishWatch(one, 'w/b --rev=1 -w json');
        await ctl.run(['compaction', '5']);
        await ctl.run(['watch', 'w/b', '--rev=2']);
      });
      assertSame(reference, ours);
    });

    test('cluster and maintenance: member list, endpoint status/health/hashkv, alarms, defrag, snapshot, move-leader', async () => {
      const statusNorm = (s: string) =>
        s
          // DB size and raft indexes belong to each backend's storage; the shape must match.
          .replace(/, \d+(\.\d+)? [kMG]?B, /g, ', <size>, ')
          .replace(/(true|false), (true|false), \d+, \d+, \d+, /g, '$1, $2, <term>, <index>, <applied>, ')
          .replace(/"(dbSize|dbSizeInUse|raftIndex|raftTerm|raftAppliedIndex|revision)":\d+/g, '"$1":<n>');
      const hashNorm = (s: string) =>
        s.replace(/, \d+\n/g, ', <hash>\n').replace(/"hash":\d+/g, '"hash":<n>');
      const { reference, ours } = await compareSessions(backend, async (ctl) => {
        await ctl.run(['put', 'm', '1']);
        await ctl.run(['member', 'list']);
        await ctl.run(['member', 'list', '-w', 'table']);
        await ctl.run(['member', 'list', '-w', 'json'], { normalize: statusNorm });
        const self = (await ctl.raw(['member', 'list'])).stdout.split(',')[0]!;
        await ctl.run(['endpoint', 'status'], { normalize: statusNorm });
        await ctl.run(['endpoint', 'status', '-w', 'json'], { normalize: statusNorm });
        await ctl.run(['endpoint', 'health']);
        await ctl.run(['endpoint', 'hashkv'], { normalize: hashNorm });
        await ctl.run(['endpoint', 'hashkv', '-w', 'json'], { normalize: (s) => statusNorm(hashNorm(s)) });
        await ctl.run(['alarm', 'list']);
        await ctl.run(['alarm', 'disarm']);
        await ctl.run(['defrag']);
        await ctl.run(['move-leader', self]);
        await ctl.run(['move-leader', '1234']);
        await ctl.run(['member', 'remove', '1234']);
        await ctl.run(['member', 'promote', '1234']);
        await ctl.run(['member', 'promote', self]);
        await ctl.run(['member', 'update', '1234', '--peer-urls=http://127.0.0.1:1']);
        await ctl.run(['member', 'remove', self]);
        await ctl.run(['auth', 'enable']);
        await ctl.run(['auth', 'disable']);
        await ctl.run(['user', 'list']);
        await ctl.run(['role', 'list']);
        await ctl.run(['user', 'get', 'bob']);
        await ctl.run(['role', 'get', 'r']);
        await ctl.run(['user', 'delete', 'bob']);
        await ctl.run(['user', 'grant-role', 'bob', 'r']);
        await ctl.run(['role', 'grant-permission', 'r', 'read', 'k']);
        await ctl.run(['get', 'm']);
      });
      assertSame(reference, ours);
    });
  });

  describe(`the gRPC server on ${backend.name}: where a single node must differ from etcd`, () => {
    test('reconfiguration a single node cannot perform is refused with a clear message (learners can be added and removed on the engine); snapshot save works', async () => {
      const target = await startUnderTest(backend);
      const ctl = new Ctl(target);
      try {
        const add = await ctl.raw(['member', 'add', 'x', '--peer-urls=http://127.0.0.1:1']);
        assert.equal(add.code, 1);
        if (backend.name === 'ChainFire engine') {
          // The engine changes membership, but never adds a voter the running members could not
          // form a quorum with (etcd's strict reconfiguration check); a learner is fine.
          assert.match(
            add.stderr,
            /\nError: etcdserver: re-configuration failed due to not enough started members\n$/,
          );
          const learner = await ctl.raw([
            'member',
            'add',
            'x',
            '--learner',
            '--peer-urls=http://127.0.0.1:1',
          ]);
          assert.equal(learner.code, 0, learner.stderr);
          const newId = /Member +([0-9a-f]+) added to cluster/.exec(learner.stdout)?.[1];
          assert.ok(newId, learner.stdout);
          const list = (await ctl.raw(['member', 'list'])).stdout;
          assert.match(list, new RegExp(`^${newId}, unstarted, , http://127\\.0\\.0\\.1:1, , true$`, 'm'));
          const again = await ctl.raw(['member', 'add', 'y', '--learner', '--peer-urls=http://127.0.0.1:1']);
          assert.match(again.stderr, /Peer URLs already exists/);
          const promote = await ctl.raw(['member', 'promote', newId]);
          assert.match(promote.stderr, /can only promote a learner member which is in sync with leader/);
          // member update rewrites the peer URLs (through the log); taken URLs and unknown IDs are refused.
          const upd = await ctl.raw(['member', 'update', newId, '--peer-urls=http://127.0.0.1:2']);
          assert.equal(upd.code, 0, upd.stderr);
          assert.match(upd.stdout, new RegExp(`Member +${newId} updated in cluster`));
          assert.match(
            (await ctl.raw(['member', 'list'])).stdout,
            new RegExp(`^${newId}, unstarted, , http://127\\.0\\.0\\.1:2, , true$`, 'm'),
          );
          const selfUrl = (await ctl.raw(['member', 'list'])).stdout
            .split('\n')
            .find((l) => !l.startsWith(newId))!
            .split(', ')[3]!;
          const taken = await ctl.raw(['member', 'update', newId, `--peer-urls=${selfUrl}`]);
          assert.match(taken.stderr, /Peer URLs already exists/);
          const unknown = await ctl.raw(['member', 'update', 'abcdef', '--peer-urls=http://127.0.0.1:3']);
          assert.match(unknown.stderr, /member not found/);
          const bad = await ctl.raw(['member', 'update', newId, '--peer-urls=http://127.0.0.1']);
          assert.equal(bad.code, 1);
          const rm = await ctl.raw(['member', 'remove', newId]);
          assert.equal(rm.code, 0, rm.stderr);
          assert.equal((await ctl.raw(['member', 'list'])).stdout.trim().split('\n').length, 1);
        } else {
          // etcdctl prints messages it has no name for with their gRPC status.
          assert.match(
            add.stderr,
            /\nError: rpc error: code = FailedPrecondition desc = etcdserver: member add is not supported: this ChainFire runs as a single node\n$/,
          );
        }
        if (backend.name !== 'ChainFire engine') {
          const self = (await ctl.raw(['member', 'list'])).stdout.split(',')[0]!;
          const upd = await ctl.raw(['member', 'update', self, '--peer-urls=http://127.0.0.1:1']);
          assert.match(
            upd.stderr,
            /\nError: rpc error: code = FailedPrecondition desc = etcdserver: member update is not supported: this ChainFire runs as a single node\n$/,
          );
        }
        await ctl.raw(['put', 'snap/a', 'A']);
        const dir = await tempDir('snap-');
        try {
          const save = await ctl.raw(['snapshot', 'save', `${dir.path}/s.db`]);
          assert.equal(save.code, 0, save.stderr);
          assert.match(save.stdout, /Snapshot saved at/);
          const body = (await readFile(`${dir.path}/s.db`)).toString('utf8');
          assert.ok(body.startsWith('chainfire-snapshot v1\n'));
          assert.ok(body.includes(`"key":"${Buffer.from('snap/a').toString('base64')}"`));
        } finally {
          await dir.cleanup();
        }
        // Long-running keep-alive: several refreshes over one stream, then stopped by us.
        const id = leaseId((await ctl.raw(['lease', 'grant', '60'])).stdout);
        const keep = await startProcess(
          'etcdctl',
          [`--endpoints=${target.endpoint}`, 'lease', 'keep-alive', id],
          {
            env: { ETCDCTL_API: '3' },
          },
        );
        try {
          await keep.waitForOutput((out) => out.split(`lease ${id} keepalived with TTL(60)`).length > 1);
        } finally {
          await keep.stop();
        }
        await waitFor(async () =>
          (await ctl.raw(['lease', 'timetolive', id])).stdout.includes('granted with TTL(60s)'),
        );
      } finally {
        await ctl.close();
        await target.stop();
      }
    });
  });
}
