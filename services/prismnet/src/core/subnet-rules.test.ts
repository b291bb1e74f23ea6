import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '@photoncloud/errors';
import { parseCidr } from './cidr.js';
import type { Cidr } from './cidr.js';
import { formatIp } from './ip.js';
import { SUBNET_PREFIX, VPC_PREFIX, parseCidrField, planSubnet } from './subnet-rules.js';

function cidr(s: string): Cidr {
  const p = parseCidr(s);
  assert.ok(p.ok);
  return p.cidr;
}

function fails(fn: () => unknown, code: string, field: string, constraint?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, code);
    assert.equal(err.details?.['field'], field);
    if (constraint !== undefined) assert.equal(err.details?.['constraint'], constraint);
    return true;
  });
}

const vpc = [cidr('10.0.0.0/16'), cidr('fd00:10::/56')];

describe('subnet rules', () => {
  test('default gateway is the first usable address', () => {
    const plan = planSubnet(vpc, [], { cidr_block: '10.0.3.0/24' });
    assert.equal(formatIp(plan.gateway), '10.0.3.1');
    const v6 = planSubnet(vpc, [], { cidr_block: 'fd00:10:0:1::/64' });
    assert.equal(formatIp(v6.gateway), 'fd00:10:0:1::1');
  });

  test('sizes: IPv4 /16–/28, IPv6 /64–/120', () => {
    fails(
      () => planSubnet(vpc, [], { cidr_block: '10.0.3.0/29' }),
      'VALIDATION_ERROR',
      'cidr_block',
      'prefix_length',
    );
    fails(
      () => planSubnet([cidr('10.0.0.0/8')], [], { cidr_block: '10.0.0.0/15' }),
      'VALIDATION_ERROR',
      'cidr_block',
      'prefix_length',
    );
    fails(
      () => planSubnet(vpc, [], { cidr_block: 'fd00:10::/63' }),
      'VALIDATION_ERROR',
      'cidr_block',
      'prefix_length',
    );
    fails(
      () => planSubnet(vpc, [], { cidr_block: 'fd00:10::/121' }),
      'VALIDATION_ERROR',
      'cidr_block',
      'prefix_length',
    );
    assert.equal(planSubnet(vpc, [], { cidr_block: '10.0.0.0/28' }).cidr.prefix, 28);
    assert.equal(planSubnet(vpc, [], { cidr_block: 'fd00:10::/120' }).cidr.prefix, 120);
    assert.deepEqual(SUBNET_PREFIX[4], { min: 16, max: 28 });
    assert.deepEqual(VPC_PREFIX[4], { min: 8, max: 28 });
  });

  test('inside the VPC, right family, no host bits, valid text', () => {
    fails(
      () => planSubnet(vpc, [], { cidr_block: '10.1.0.0/24' }),
      'VALIDATION_ERROR',
      'cidr_block',
      'within_vpc',
    );
    fails(
      () => planSubnet([cidr('10.0.0.0/16')], [], { cidr_block: 'fd00::/64' }),
      'VALIDATION_ERROR',
      'cidr_block',
      'within_vpc',
    );
    fails(
      () => planSubnet(vpc, [], { cidr_block: '10.0.3.5/24' }),
      'VALIDATION_ERROR',
      'cidr_block',
      'network',
    );
    fails(() => planSubnet(vpc, [], { cidr_block: 'banana' }), 'VALIDATION_ERROR', 'cidr_block', 'format');
  });

  test('overlap with a sibling is a 409 conflict naming it', () => {
    const siblings = [{ id: 'subnet-a', cidr: cidr('10.0.0.0/20') }];
    fails(() => planSubnet(vpc, siblings, { cidr_block: '10.0.3.0/24' }), 'CONFLICT', 'cidr_block');
    fails(() => planSubnet(vpc, siblings, { cidr_block: '10.0.0.0/16' }), 'CONFLICT', 'cidr_block');
    assert.equal(planSubnet(vpc, siblings, { cidr_block: '10.0.16.0/24' }).cidr.prefix, 24);
  });

  test('gateway inside the subnet, not network or broadcast', () => {
    fails(
      () => planSubnet(vpc, [], { cidr_block: '10.0.3.0/24', gateway_ip: '10.0.3.0' }),
      'VALIDATION_ERROR',
      'gateway_ip',
      'host_address',
    );
    fails(
      () => planSubnet(vpc, [], { cidr_block: '10.0.3.0/24', gateway_ip: '10.0.3.255' }),
      'VALIDATION_ERROR',
      'gateway_ip',
      'host_address',
    );
    fails(
      () => planSubnet(vpc, [], { cidr_block: '10.0.3.0/24', gateway_ip: '10.0.4.1' }),
      'VALIDATION_ERROR',
      'gateway_ip',
      'within_subnet',
    );
    fails(
      () => planSubnet(vpc, [], { cidr_block: '10.0.3.0/24', gateway_ip: 'nope' }),
      'VALIDATION_ERROR',
      'gateway_ip',
      'format',
    );
    assert.equal(
      formatIp(planSubnet(vpc, [], { cidr_block: '10.0.3.0/24', gateway_ip: '10.0.3.254' }).gateway),
      '10.0.3.254',
    );
    // IPv6 has no broadcast: the last address is a valid gateway.
    const v6 = planSubnet(vpc, [], { cidr_block: 'fd00:10::/120', gateway_ip: 'fd00:10::ff' });
    assert.equal(formatIp(v6.gateway), 'fd00:10::ff');
    fails(
      () => planSubnet(vpc, [], { cidr_block: 'fd00:10::/120', gateway_ip: 'fd00:10::' }),
      'VALIDATION_ERROR',
      'gateway_ip',
      'host_address',
    );
  });

  test('reserved_ips are validated, deduplicated and sorted', () => {
    const plan = planSubnet(vpc, [], {
      cidr_block: '10.0.3.0/24',
      reserved_ips: ['10.0.3.9', '10.0.3.5', '10.0.3.9', '10.0.3.1'],
    });
    assert.deepEqual(plan.reserved.map(formatIp), ['10.0.3.5', '10.0.3.9']);
    fails(
      () => planSubnet(vpc, [], { cidr_block: '10.0.3.0/24', reserved_ips: ['10.0.4.1'] }),
      'VALIDATION_ERROR',
      'reserved_ips.0',
      'within_subnet',
    );
  });

  test('parseCidrField reports the normalised form of a block with host bits', () => {
    assert.throws(
      () => parseCidrField('cidr_block', '172.16.5.0/16', VPC_PREFIX),
      (err: unknown) => err instanceof ApiError && err.details?.['normalized'] === '172.16.0.0/16',
    );
  });
});
