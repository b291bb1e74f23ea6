// snappyjs ships no type declarations.
declare module 'snappyjs' {
  /** Decompresses a snappy block. */
  export function uncompress(
    compressed: Uint8Array | ArrayBuffer,
    maxLength?: number,
  ): Uint8Array | ArrayBuffer;
  /** Compresses into a snappy block. */
  export function compress(uncompressed: Uint8Array | ArrayBuffer): Uint8Array | ArrayBuffer;
}
