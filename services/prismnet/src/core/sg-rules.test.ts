import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '@photoncloud/errors';
import { defaultRules, normaliseRule, sameRule } from './sg-rules.js';

function fails(fn: () => unknown, field: string, constraint: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 'VALIDATION_ERROR');
    assert.equal(err.details?.['field'], field);
    assert.equal(err.details?.['constraint'], constraint);
    return true;
  });
}

describe('security group rules', () => {
  test('defaults: allow all egress for both families, no ingress', () => {
    let n = 0;
    const rules = defaultRules(() => `sgr-${n++}`);
    assert.equal(rules.length, 2);
    assert.ok(rules.every((r) => r.direction === 'egress' && r.protocol === 'any'));
    assert.deepEqual(
      rules.map((r) => [r.ethertype, r.remote_cidr]),
      [
        ['IPv4', '0.0.0.0/0'],
        ['IPv6', '::/0'],
      ],
    );
  });

  test('normalises CIDR, ethertype and single-port ranges', () => {
    const r = normaliseRule(
      { direction: 'ingress', protocol: 'tcp', port_range_min: 22, remote_cidr: '192.168.7.9/16' },
      'sgr-1',
    );
    assert.deepEqual(r, {
      id: 'sgr-1',
      direction: 'ingress',
      protocol: 'tcp',
      ethertype: 'IPv4',
      port_range_min: 22,
      port_range_max: 22,
      remote_cidr: '192.168.0.0/16',
      remote_group_id: null,
      description: '',
    });
    const v6 = normaliseRule(
      {
        direction: 'ingress',
        protocol: 'udp',
        port_range_min: 53,
        port_range_max: 53,
        remote_cidr: 'FD00::1/64',
      },
      'x',
    );
    assert.equal(v6.ethertype, 'IPv6');
    assert.equal(v6.remote_cidr, 'fd00::/64');
    assert.equal(normaliseRule({ direction: 'ingress', protocol: 'icmp' }, 'x').port_range_min, null);
  });

  test('rejects bad ranges and combinations', () => {
    fails(
      () =>
        normaliseRule({ direction: 'ingress', protocol: 'tcp', port_range_min: 90, port_range_max: 80 }, 'x'),
      'port_range_min',
      'order',
    );
    fails(
      () => normaliseRule({ direction: 'ingress', protocol: 'tcp', port_range_min: 0 }, 'x'),
      'port_range_min',
      'range',
    );
    fails(
      () => normaliseRule({ direction: 'ingress', protocol: 'tcp', port_range_max: 70000 }, 'x'),
      'port_range_min',
      'range',
    );
    fails(
      () => normaliseRule({ direction: 'ingress', protocol: 'icmp', port_range_min: 1 }, 'x'),
      'port_range_min',
      'protocol',
    );
    fails(
      () => normaliseRule({ direction: 'ingress', remote_cidr: '10.0.0.0/8', remote_group_id: 'sg-1' }, 'x'),
      'remote_cidr',
      'exclusive',
    );
    fails(
      () => normaliseRule({ direction: 'ingress', remote_cidr: '10.0.0.0/33' }, 'x'),
      'remote_cidr',
      'format',
    );
    fails(
      () => normaliseRule({ direction: 'ingress', remote_cidr: '10.0.0.0/8', ethertype: 'IPv6' }, 'x'),
      'remote_cidr',
      'ethertype',
    );
  });

  test('sameRule ignores id and description only', () => {
    const a = normaliseRule(
      { direction: 'ingress', protocol: 'tcp', port_range_min: 443, remote_cidr: '0.0.0.0/0' },
      'a',
    );
    const b = normaliseRule(
      {
        direction: 'ingress',
        protocol: 'tcp',
        port_range_min: 443,
        port_range_max: 443,
        remote_cidr: '0.0.0.0/0',
        description: 'https',
      },
      'b',
    );
    assert.ok(sameRule(a, b));
    assert.ok(!sameRule(a, { ...b, port_range_max: 444 }));
  });
});
