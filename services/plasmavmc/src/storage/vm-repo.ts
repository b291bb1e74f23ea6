/**
 * PlasmaVMC's records in ChainFire: VM specs (desired state, written here), VM statuses (observed state,
 * written by the node agent and only read here) and image records. Updates of a spec are compare-and-swap
 * on its mod revision, so two concurrent actions never both apply to the same starting state.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError } from '@photoncloud/errors';
import { VM_KEYS } from '@photoncloud/plasmavmc-api';
import type { ImageRecord, VmSpecRecord, VmStatusRecord } from '@photoncloud/plasmavmc-api';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';

/** A record with the revision it was read at. */
export interface Versioned<T> {
  value: T;
  modRevision: number;
}

function decode<T>(v: Uint8Array): T {
  return JSON.parse(text(v)) as T;
}

function encode(v: unknown): Uint8Array {
  return bytes(JSON.stringify(v));
}

/** Reads and writes PlasmaVMC's records. */
export class VmRepo {
  constructor(private readonly store: Store) {}

  private async get<T>(key: string): Promise<Versioned<T> | undefined> {
    const res = await this.store.range({ key: bytes(key) });
    const kv = res.kvs[0];
    return kv === undefined ? undefined : { value: decode<T>(kv.value), modRevision: kv.modRevision };
  }

  private async list<T>(prefix: string): Promise<T[]> {
    const key = bytes(prefix);
    const res = await this.store.range({ key, rangeEnd: prefixEnd(key) });
    return res.kvs.map((kv) => decode<T>(kv.value));
  }

  /** Create a VM spec (its ID must be new). */
  async createVm(spec: VmSpecRecord): Promise<void> {
    const key = bytes(VM_KEYS.vm(spec.id));
    const res = await this.store.txn({
      compare: [{ key, target: 'create', createRevision: 0, result: 'equal' }],
      success: [{ put: { key, value: encode(spec) } }],
      failure: [],
    });
    if (!res.succeeded) throw new ConflictError(`VM ${spec.id} already exists`);
  }

  /** A VM spec. */
  getVm(id: string): Promise<Versioned<VmSpecRecord> | undefined> {
    return this.get<VmSpecRecord>(VM_KEYS.vm(id));
  }

  /** Every VM spec, by ID. */
  listVms(): Promise<VmSpecRecord[]> {
    return this.list<VmSpecRecord>(VM_KEYS.vms);
  }

  /** Replace a spec if it is still at `modRevision`; false when it changed (or vanished) meanwhile. */
  async updateVm(spec: VmSpecRecord, modRevision: number): Promise<boolean> {
    const key = bytes(VM_KEYS.vm(spec.id));
    const res = await this.store.txn({
      compare: [{ key, target: 'mod', modRevision, result: 'equal' }],
      success: [{ put: { key, value: encode(spec) } }],
      failure: [],
    });
    return res.succeeded;
  }

  /** The agent's last report on a VM. */
  async getStatus(id: string): Promise<VmStatusRecord | undefined> {
    return (await this.get<VmStatusRecord>(VM_KEYS.status(id)))?.value;
  }

  /** Every status, by VM ID. */
  async statuses(): Promise<Map<string, VmStatusRecord>> {
    const key = bytes(VM_KEYS.statuses);
    const res = await this.store.range({ key, rangeEnd: prefixEnd(key) });
    const out = new Map<string, VmStatusRecord>();
    for (const kv of res.kvs) out.set(text(kv.key).slice(VM_KEYS.statuses.length), decode(kv.value));
    return out;
  }

  /** Create an image record. */
  async putImage(image: ImageRecord): Promise<void> {
    await this.store.put({ key: bytes(VM_KEYS.image(image.id)), value: encode(image) });
  }

  /** Replace an image record if unchanged since `modRevision`. */
  async updateImage(image: ImageRecord, modRevision: number): Promise<boolean> {
    const key = bytes(VM_KEYS.image(image.id));
    const res = await this.store.txn({
      compare: [{ key, target: 'mod', modRevision, result: 'equal' }],
      success: [{ put: { key, value: encode(image) } }],
      failure: [],
    });
    return res.succeeded;
  }

  /** An image record. */
  getImage(id: string): Promise<Versioned<ImageRecord> | undefined> {
    return this.get<ImageRecord>(VM_KEYS.image(id));
  }

  /** Every image record. */
  listImages(): Promise<ImageRecord[]> {
    return this.list<ImageRecord>(VM_KEYS.images);
  }

  /** Delete an image record. */
  async deleteImage(id: string): Promise<void> {
    await this.store.deleteRange({ key: bytes(VM_KEYS.image(id)) });
  }

  /** The console-token secret: created once per install (first writer wins), then shared by every API. */
  async consoleSecret(): Promise<Uint8Array> {
    const key = bytes(VM_KEYS.consoleSecret);
    const fresh = encode({ secret: Buffer.from(randomBytes(32)).toString('base64') });
    const res = await this.store.txn({
      compare: [{ key, target: 'create', createRevision: 0, result: 'equal' }],
      success: [{ put: { key, value: fresh } }],
      failure: [{ range: { key } }],
    });
    const raw = res.succeeded
      ? fresh
      : (res.responses[0] as { range: { kvs: { value: Uint8Array }[] } }).range.kvs[0]?.value;
    if (raw === undefined) throw new Error('console secret vanished');
    return Buffer.from(decode<{ secret: string }>(raw).secret, 'base64');
  }
}
