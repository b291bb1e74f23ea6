import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@photoncloud/test-utils';
import {
  checkDataDir,
  checkKvm,
  checkNode,
  checkProgram,
  compareVersions,
  findExecutable,
  runDoctorChecks,
} from './doctor-checks.js';
import { formatDoctorReport } from './commands/doctor.js';

test('compareVersions compares numerically', () => {
  assert.equal(compareVersions('20.19.0', '20.19.0'), 0);
  assert.equal(compareVersions('20.9.0', '20.19.0'), -1);
  assert.equal(compareVersions('v22.1', '20.19.0'), 1);
  assert.equal(compareVersions('20.19', '20.19.1'), -1);
});

test('checkNode: >= 20.19 is OK, older is MISSING with the package', () => {
  assert.equal(checkNode('20.19.0').status, 'ok');
  assert.equal(checkNode(process.versions.node).status, 'ok');
  const old = checkNode('20.18.3');
  assert.equal(old.status, 'missing');
  assert.match(old.detail, /too old \(need >= 20\.19\.0\)/);
  assert.equal(old.package, 'nodejs');
});

test('checkProgram finds a real program and its version, and reports absent ones with their package', async () => {
  const found = await checkProgram({
    name: 'node',
    args: ['--version'],
    package: 'nodejs',
    purpose: 'test',
    version: (o) => /v(\d+\.\d+\.\d+)/.exec(o)?.[1],
  });
  assert.equal(found.status, 'ok');
  assert.ok(found.detail.startsWith(process.versions.node), found.detail);
  const dir = await tempDir('pc-doctor-');
  try {
    const absent = await checkProgram(
      { name: 'photoncloud-no-such-tool', args: [], package: 'some-pkg', purpose: 'test' },
      dir.path,
    );
    assert.deepEqual(
      { status: absent.status, package: absent.package, detail: absent.detail },
      { status: 'missing', package: 'some-pkg', detail: 'not installed' },
    );
    // A non-executable file of that name is not a program.
    await writeFile(join(dir.path, 'plain-file'), 'x', { mode: 0o644 });
    assert.equal(await findExecutable('plain-file', dir.path), undefined);
  } finally {
    await dir.cleanup();
  }
});

test('checkKvm needs both a read-write device and vmx/svm', async () => {
  const dir = await tempDir('pc-kvm-');
  try {
    const device = join(dir.path, 'kvm');
    await writeFile(device, '');
    const withVmx = join(dir.path, 'cpuinfo-vmx');
    await writeFile(withVmx, 'processor\t: 0\nflags\t\t: fpu vme de pse vmx sse2\n');
    const without = join(dir.path, 'cpuinfo-plain');
    await writeFile(without, 'processor\t: 0\nflags\t\t: fpu vme de pse sse2 hypervisor\n');

    const ok = await checkKvm({ device, cpuinfo: withVmx });
    assert.equal(ok.status, 'ok');
    assert.match(ok.detail, /CPU flag vmx/);

    const noFlag = await checkKvm({ device, cpuinfo: without });
    assert.equal(noFlag.status, 'warn');
    assert.match(noFlag.detail, /no vmx\/svm flag.*TCG/);

    const noDevice = await checkKvm({ device: join(dir.path, 'missing'), cpuinfo: withVmx });
    assert.equal(noDevice.status, 'warn');
    assert.match(noDevice.detail, /does not exist/);
  } finally {
    await dir.cleanup();
  }
});

test('checkDataDir: writable dirs, dirs still to be created, and unwritable places', async () => {
  const dir = await tempDir('pc-data-');
  try {
    const [w, disk] = await checkDataDir(dir.path);
    assert.equal(w?.status, 'ok');
    assert.match(w?.detail ?? '', /is writable/);
    assert.match(disk?.detail ?? '', /free of/);
    const [later] = await checkDataDir(join(dir.path, 'a', 'b'));
    assert.equal(later?.status, 'ok');
    assert.match(later?.detail ?? '', /will be created/);
    // procfs refuses new files even for root.
    const [bad] = await checkDataDir('/proc/photoncloud-doctor-test/data');
    assert.equal(bad?.status, 'missing');
    assert.match(bad?.detail ?? '', /not writable/);
  } finally {
    await dir.cleanup();
  }
});

test('runDoctorChecks on this host returns one structured line per runtime', async () => {
  const dir = await tempDir('pc-doctor-');
  try {
    const checks = await runDoctorChecks({ dataDir: join(dir.path, 'data') });
    const names = checks.map((c) => c.name);
    for (const n of [
      'node',
      'qemu-system-x86_64',
      'kvm',
      'qemu-img',
      'runc',
      'etcd',
      'etcdctl',
      'ip',
      'curl',
      'data dir',
      'free disk',
    ]) {
      assert.ok(names.includes(n), `missing check ${n}`);
    }
    for (const c of checks) {
      assert.ok(['ok', 'missing', 'warn'].includes(c.status), `${c.name}: ${c.status}`);
      assert.ok(c.detail.length > 0);
      if (c.status === 'missing')
        assert.ok(c.package !== undefined || c.name === 'data dir', `${c.name} names no package`);
    }
    // The test suite's own setup installs etcd; node runs us.
    assert.equal(checks.find((c) => c.name === 'node')?.status, 'ok');
    assert.equal(checks.find((c) => c.name === 'etcd')?.status, 'ok');
    const kvm = checks.find((c) => c.name === 'kvm');
    if (kvm?.status !== 'ok') assert.match(kvm?.detail ?? '', /TCG/);
    const text = formatDoctorReport(checks);
    assert.equal(text.filter((l) => /^(OK|MISSING|WARN) /.test(l)).length, checks.length);
  } finally {
    await dir.cleanup();
  }
});
