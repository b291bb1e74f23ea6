/**
 * The commands ChainFire replicates through the Raft log, and their encoding. Every command is
 * normalised before encoding, so applying it is deterministic: anything random (lease IDs) or
 * clock-based is decided before proposing.
 */
import { decodeValue, encodeValue } from './value-codec.js';
import type { Codable } from './value-codec.js';
import type { NormDelete, NormPut, NormTxn } from './requests.js';

export type Command =
  | { op: 'put'; req: NormPut }
  | { op: 'deleteRange'; req: NormDelete }
  | { op: 'txn'; req: NormTxn }
  | { op: 'compact'; revision: number }
  | { op: 'leaseGrant'; id: string; ttl: number }
  | { op: 'leaseRevoke'; id: string };

const OPS = new Set(['put', 'deleteRange', 'txn', 'compact', 'leaseGrant', 'leaseRevoke']);

/** Encode a command as a log entry payload. */
export function encodeCommand(cmd: Command): Uint8Array {
  return encodeValue(cmd as unknown as Codable);
}

/** Decode a log entry payload; throws on bytes that are not a command. */
export function decodeCommand(data: Uint8Array): Command {
  const v = decodeValue(data);
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new Error('command: not an object');
  }
  const op = (v as { op?: unknown }).op;
  if (typeof op !== 'string' || !OPS.has(op)) throw new Error(`command: unknown op ${String(op)}`);
  return v as unknown as Command;
}
