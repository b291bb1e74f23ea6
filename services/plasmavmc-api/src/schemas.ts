/**
 * PlasmaVMC's REST wire types (guide §4). The same TypeBox schemas validate requests in the server's routes,
 * document them in its OpenAPI, and type the client. Times are RFC 3339 UTC.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

/** Resource IDs: letters, digits, `.`, `_`, `-` (they become store key segments, so never `/`). */
export const ID_PATTERN = '^[A-Za-z0-9._-]+$';
const Id = Type.String({ minLength: 1, maxLength: 128, pattern: ID_PATTERN });
const TenantId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });
const Name = Type.String({ minLength: 1, maxLength: 255, description: 'Display name' });

/** Most vCPUs of one VM. */
export const MAX_VCPUS = 64;
/** Least and most memory of one VM, MiB. */
export const MIN_MEMORY_MIB = 64;
/** Most memory of one VM, MiB (1 TiB). */
export const MAX_MEMORY_MIB = 1024 * 1024;
/** Largest disk of one VM, GiB. */
export const MAX_DISK_GB = 65_536;

/** The states a VM is shown in (ARCHITECTURE.md "desired vs observed"). */
export const VM_STATES = [
  'Creating',
  'Stopped',
  'Starting',
  'Running',
  'Stopping',
  'Rebooting',
  'Deleting',
  'Error',
] as const;
/** A VM's state. */
export type VmState = (typeof VM_STATES)[number];

/** `?org_id=&project_id=` on every route. */
export const scopeQueryProperties = {
  org_id: Type.Optional(TenantId),
  project_id: Type.Optional(TenantId),
};

/** `{id}` path parameter. */
export const IdParams = Type.Object({ id: Id });

/** A VM. `cpus`/`memory_mb` are the guide's response names. */
export const Vm = Type.Object({
  id: Type.String({ description: 'vm-<random>' }),
  name: Type.String(),
  org_id: Type.String(),
  project_id: Type.String(),
  state: Type.Union(
    VM_STATES.map((s) => Type.Literal(s)),
    { description: 'Observed state, or the transition in flight' },
  ),
  cpus: Type.Integer(),
  memory_mb: Type.Integer(),
  hypervisor: Type.String({ description: 'Requested hypervisor (kvm or qemu)' }),
  accelerator: Type.Union([Type.String(), Type.Null()], {
    description: 'What the running QEMU uses: kvm when the host has it, else tcg',
  }),
  image_id: Type.Union([Type.String(), Type.Null()]),
  disk_size_gb: Type.Union([Type.Integer(), Type.Null()]),
  subnet_id: Type.Union([Type.String(), Type.Null()]),
  port_id: Type.Union([Type.String(), Type.Null()]),
  ip_address: Type.Union([Type.String(), Type.Null()]),
  mac_address: Type.String(),
  node: Type.Union([Type.String(), Type.Null()], { description: 'Node running the VM' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why the VM is in Error' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
/** A VM. */
export type Vm = Static<typeof Vm>;

const Vcpus = Type.Integer({ minimum: 1, maximum: MAX_VCPUS, description: 'Virtual CPUs' });
const MemoryMib = Type.Integer({ minimum: MIN_MEMORY_MIB, maximum: MAX_MEMORY_MIB, description: 'MiB' });
const DiskGb = Type.Integer({ minimum: 1, maximum: MAX_DISK_GB, description: 'GiB of the VM disk' });

/**
 * Body of `POST /api/v1/vms`. Aliases accepted (ARCHITECTURE.md §2): `cpu_cores`/`cpus` for `vcpus`,
 * `memory_mb` for `memory_mib`, `disk_gb` for `disk_size_gb`, `image` for `image_id`.
 */
export const CreateVm = Type.Object(
  {
    name: Name,
    org_id: Type.Optional(TenantId),
    project_id: Type.Optional(TenantId),
    vcpus: Type.Optional(Vcpus),
    cpu_cores: Type.Optional(Vcpus),
    cpus: Type.Optional(Vcpus),
    memory_mib: Type.Optional(MemoryMib),
    memory_mb: Type.Optional(MemoryMib),
    hypervisor: Type.Optional(
      Type.Union([Type.Literal('kvm'), Type.Literal('qemu')], {
        description: 'kvm (default) uses KVM when the host has it, else TCG; qemu always TCG',
      }),
    ),
    image_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Image ID or name' })),
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    disk_size_gb: Type.Optional(DiskGb),
    disk_gb: Type.Optional(DiskGb),
    subnet_id: Type.Optional(Id),
    start: Type.Optional(Type.Boolean({ description: 'Start once created (default true)' })),
  },
  { additionalProperties: false },
);
/** Body of a VM creation. */
export type CreateVm = Static<typeof CreateVm>;

/** Body of `POST /api/v1/vms/{id}/stop`. */
export const StopVm = Type.Object(
  {
    force: Type.Optional(Type.Boolean({ description: 'Kill at once instead of an ACPI power-down' })),
    timeout_seconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 600, description: 'ACPI grace period before forcing; default 30' }),
    ),
  },
  { additionalProperties: false },
);
/** Body of a stop. */
export type StopVm = Static<typeof StopVm>;

/** Answer of `GET /api/v1/vms/{id}/console`. */
export const ConsoleAccess = Type.Object({
  url: Type.String({ description: 'WebSocket URL of the serial console (token included)' }),
  token: Type.String(),
  expires_at: Type.String({ format: 'date-time' }),
});
/** Console access. */
export type ConsoleAccess = Static<typeof ConsoleAccess>;

/** Image formats: a disk (`qcow2`, `raw`) or a kernel + initrd booted directly. */
export const IMAGE_FORMATS = ['qcow2', 'raw', 'kernel'] as const;
/** An image format. */
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
/** Parts of an image that are uploaded. */
export const IMAGE_PARTS = ['disk', 'kernel', 'initrd'] as const;
/** An uploaded part. */
export type ImagePart = (typeof IMAGE_PARTS)[number];

/** An image. */
export const Image = Type.Object({
  id: Type.String({ description: 'img-<random>' }),
  name: Type.String(),
  org_id: Type.String(),
  project_id: Type.String(),
  format: Type.Union(IMAGE_FORMATS.map((f) => Type.Literal(f))),
  status: Type.Union([Type.Literal('pending'), Type.Literal('available')], {
    description: 'pending until every part is uploaded',
  }),
  cmdline: Type.Union([Type.String(), Type.Null()], { description: 'Kernel command line (kernel images)' }),
  parts: Type.Array(Type.String(), { description: 'Parts uploaded so far' }),
  size_bytes: Type.Integer({ description: 'Bytes on disk' }),
  virtual_size_bytes: Type.Union([Type.Integer(), Type.Null()], { description: 'Disk size seen by a VM' }),
  created_at: Type.String({ format: 'date-time' }),
});
/** An image. */
export type Image = Static<typeof Image>;

/** Body of `POST /api/v1/images`: registers the image; its parts are uploaded with `PUT …/{part}`. */
export const CreateImage = Type.Object(
  {
    name: Name,
    org_id: Type.Optional(TenantId),
    project_id: Type.Optional(TenantId),
    format: Type.Union(
      IMAGE_FORMATS.map((f) => Type.Literal(f)),
      { description: 'qcow2 or raw: upload `disk`; kernel: upload `kernel` and `initrd`' },
    ),
    cmdline: Type.Optional(Type.String({ maxLength: 4096, description: 'Kernel command line' })),
  },
  { additionalProperties: false },
);
/** Body of an image registration. */
export type CreateImage = Static<typeof CreateImage>;

/** `{id}/{part}` path parameters of an upload. */
export const ImagePartParams = Type.Object({
  id: Id,
  part: Type.Union(IMAGE_PARTS.map((p) => Type.Literal(p))),
});

/** Answer of a delete. */
export const Deleted = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });
/** Answer of a delete. */
export type Deleted = Static<typeof Deleted>;
