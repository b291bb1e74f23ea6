/** NightLight: Prometheus-compatible TSDB with PromQL, remote write and scraping. */
export { startNightLightServer } from './server.js';
export type { NightLightServer, NightLightServerOptions } from './server.js';
export { parsePromQL, PromQLParseError } from './core/promql/parser.js';
export { instantQuery, rangeQuery, PromQLEvalError } from './core/promql/engine.js';
export type { Queryable, RawSeries, InstantResult, RangeResult } from './core/promql/engine.js';
export { Tsdb, AppendError } from './storage/tsdb.js';
export type { ScrapeTarget } from './scrape.js';
