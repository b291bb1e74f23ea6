/**
 * Builds a tiny guest for the integration tests from Debian's packages: a newc cpio initramfs (written here,
 * no `cpio` needed) holding busybox-static, two kernel modules (evdev, button: so the ACPI power button
 * reaches userspace) and an /init script that prints a marker on the serial console and powers off when
 * the power button is pressed. The kernel is Debian's linux-image-amd64 (/boot/vmlinuz-*).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Printed by the guest's init on every boot. */
export const GUEST_MARKER = 'PHOTONCLOUD-GUEST-UP';
/** Printed by the guest when it handles the ACPI power button. */
export const GUEST_POWERDOWN_MARKER = 'PHOTONCLOUD-GUEST-POWERDOWN';

interface Entry {
  name: string;
  mode: number;
  data: Buffer;
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Encode entries as a newc ("070701") cpio archive. */
export function newcArchive(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (e: Entry) => {
    const name = Buffer.from(`${e.name}\0`);
    const fields = [
      ino++,
      e.mode,
      0,
      0,
      (e.mode & 0o170000) === 0o040000 ? 2 : 1,
      0,
      e.data.length,
      0,
      0,
      0,
      0,
      name.length,
      0,
    ];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`);
    parts.push(
      header,
      name,
      Buffer.alloc(pad4(header.length + name.length)),
      e.data,
      Buffer.alloc(pad4(e.data.length)),
    );
  };
  for (const e of entries) push(e);
  push({ name: 'TRAILER!!!', mode: 0, data: Buffer.alloc(0) });
  return Buffer.concat(parts);
}

const INIT = `#!/bin/sh
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
insmod /lib/modules/evdev.ko
insmod /lib/modules/button.ko
pb=
for d in /sys/class/input/event*; do
  [ "$(cat $d/device/name)" = "Power Button" ] && pb=/dev/input/\${d##*/}
done
if [ -n "$pb" ]; then
  while [ ! -e $pb ]; do sleep 0.1; done
  # Open the power button before announcing the boot, so a power-down sent after the marker is never missed.
  exec 3<$pb
  ( dd bs=24 count=1 <&3 >/dev/null 2>&1 && { echo ${GUEST_POWERDOWN_MARKER}; poweroff -f; } ) &
fi
echo ${GUEST_MARKER}
exec /bin/sh
`;

/** The newest installed Debian kernel and its version. */
export async function hostKernel(): Promise<{ path: string; version: string }> {
  const names = (await readdir('/boot')).filter((n) => n.startsWith('vmlinuz-')).sort();
  const last = names.at(-1);
  if (last === undefined) throw new Error('no /boot/vmlinuz-* (install linux-image-amd64)');
  return { path: join('/boot', last), version: last.slice('vmlinuz-'.length) };
}

/** Build the guest's initramfs for kernel `version`. */
export async function buildInitramfs(version: string): Promise<Buffer> {
  const busybox = await readFile('/bin/busybox');
  const mod = (p: string) => readFile(join('/lib/modules', version, 'kernel', p));
  const dir = (name: string): Entry => ({ name, mode: 0o040755, data: Buffer.alloc(0) });
  return newcArchive([
    dir('bin'),
    dir('dev'),
    dir('proc'),
    dir('sys'),
    dir('lib'),
    dir('lib/modules'),
    { name: 'bin/busybox', mode: 0o100755, data: busybox },
    { name: 'bin/sh', mode: 0o120777, data: Buffer.from('busybox') },
    { name: 'lib/modules/evdev.ko', mode: 0o100644, data: await mod('drivers/input/evdev.ko') },
    { name: 'lib/modules/button.ko', mode: 0o100644, data: await mod('drivers/acpi/button.ko') },
    { name: 'init', mode: 0o100755, data: Buffer.from(INIT) },
  ]);
}
