// The package ships types, but its "exports" map has no "types" condition, so TypeScript's
// bundler/nodenext resolution cannot find them.
declare module '@prometheus-io/lezer-promql' {
  import type { LRParser } from '@lezer/lr';
  export const parser: LRParser;
}
