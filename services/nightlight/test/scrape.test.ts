/** Scraping a text exposition served on loopback: labels, up/scrape_* series, staleness, metadata. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { api, startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

describe('scraping', () => {
  let h: Harness;
  let target: Server;
  let targetUrl: string;
  let clock = 1_700_000_000_000;
  let body = '';

  before(async () => {
    target = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/metrics`;
    h = await startHarness({
      scrapeTargets: [{ url: targetUrl, job: 'svc' }],
      scrapeIntervalMs: 3_600_000,
      now: () => clock,
    });
  });
  after(async () => {
    await h.close();
    await new Promise((r) => target.close(r));
  });

  it('stores scraped samples with job/instance labels and marks vanished series stale', async () => {
    const scraper = h.server.scraper;
    assert.ok(scraper);
    body = [
      '# HELP svc_requests_total Requests handled.',
      '# TYPE svc_requests_total counter',
      'svc_requests_total{code="200"} 10',
      'svc_requests_total{code="500",instance="inner"} 1',
      'svc_temp 21.5',
      '',
    ].join('\n');
    const [r1] = await scraper.scrapeAll();
    assert.deepEqual(r1, { url: targetUrl, up: true, samples: 3 });
    clock += 15_000;
    body = 'svc_requests_total{code="200"} 25\n';
    await scraper.scrapeAll();
    const instance = new URL(targetUrl).host;
    const t = clock / 1000;
    const q = await api(h.server.url, `/api/v1/query?query=${encodeURIComponent('{job="svc"}')}&time=${t}`);
    const result = (q.body.data as { result: { metric: Record<string, string>; value: [number, string] }[] })
      .result;
    const byName = new Map(result.map((r) => [JSON.stringify(r.metric), r.value[1]]));
    assert.equal(
      byName.get(JSON.stringify({ __name__: 'svc_requests_total', code: '200', instance, job: 'svc' })),
      '25',
    );
    assert.equal(byName.get(JSON.stringify({ __name__: 'up', instance, job: 'svc' })), '1');
    assert.equal(
      byName.get(JSON.stringify({ __name__: 'scrape_samples_scraped', instance, job: 'svc' })),
      '1',
    );
    assert.ok(![...byName.keys()].some((k) => k.includes('svc_temp')), 'svc_temp vanished and is stale');
    assert.ok(
      ![...byName.keys()].some((k) => k.includes('"exported_instance":"inner"')),
      'the vanished series with a clashing label is stale too',
    );
    const rate = await api(
      h.server.url,
      `/api/v1/query?query=${encodeURIComponent('increase(svc_requests_total{code="200"}[1m])')}&time=${t}`,
    );
    // 15 over 15 s, extrapolated to the counter's zero point 10 s before the first sample: 25.
    assert.equal((rate.body.data as { result: { value: [number, string] }[] }).result[0]?.value[1], '25');
    const md = await api(h.server.url, `/api/v1/metadata?metric=svc_requests_total`);
    assert.deepEqual(md.body.data, {
      svc_requests_total: [{ type: 'counter', help: 'Requests handled.', unit: '' }],
    });
  });

  it('records up=0 and marks every series stale when the target fails', async () => {
    const scraper = h.server.scraper;
    assert.ok(scraper);
    clock += 15_000;
    body = 'not a valid line {\n';
    const [r] = await scraper.scrapeAll();
    assert.equal(r?.up, false);
    const q = await api(
      h.server.url,
      `/api/v1/query?query=${encodeURIComponent('{job="svc"}')}&time=${clock / 1000}`,
    );
    const result = (q.body.data as { result: { metric: Record<string, string>; value: [number, string] }[] })
      .result;
    const names = result.map((x) => x.metric['__name__']).sort();
    assert.deepEqual(names, ['scrape_duration_seconds', 'scrape_samples_scraped', 'up']);
    assert.equal(result.find((x) => x.metric['__name__'] === 'up')?.value[1], '0');
  });
});
