import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import { ValidationError } from '@photoncloud/errors';
import { typeboxValidatorCompiler } from './validation.js';

function compile(schema: TSchema, httpPart: string) {
  const fn = typeboxValidatorCompiler({ schema, httpPart, method: 'GET', url: '/' }) as (v: unknown) => {
    value?: unknown;
    error?: unknown;
  };
  return fn;
}

test('querystrings are converted only from exact renderings', () => {
  const v = compile(
    Type.Object({
      n: Type.Optional(Type.Integer()),
      f: Type.Optional(Type.Number()),
      b: Type.Optional(Type.Boolean()),
      tags: Type.Optional(Type.Array(Type.Integer())),
    }),
    'querystring',
  );
  assert.deepEqual(v({ n: '12', f: '1.5', b: 'true', tags: '3' }).value, {
    n: 12,
    f: 1.5,
    b: true,
    tags: [3],
  });
  for (const bad of [{ n: '1.5' }, { n: '12abc' }, { n: '' }, { f: 'NaN' }, { b: 'yes' }]) {
    const r = v(bad);
    assert.ok(r.error instanceof ValidationError, JSON.stringify(bad));
    assert.equal((r.error as ValidationError).constraint, 'type');
    assert.equal((r.error as ValidationError).details?.['location'], 'query');
  }
});

test('bodies are never coerced', () => {
  const v = compile(Type.Object({ value: Type.String() }), 'body');
  const r = v({ value: 123 });
  assert.ok(r.error instanceof ValidationError);
  assert.equal((r.error as ValidationError).field, 'value');
  assert.deepEqual(v({ value: 'x' }).value, { value: 'x' });
});

test('defaults are applied; nested fields are named with dots', () => {
  const v = compile(
    Type.Object({
      size: Type.Integer({ default: 3 }),
      spec: Type.Object({ ports: Type.Array(Type.Integer({ maximum: 65535 })) }),
    }),
    'body',
  );
  assert.deepEqual(v({ spec: { ports: [80] } }).value, { size: 3, spec: { ports: [80] } });
  const r = v({ spec: { ports: [80, 70000] } });
  assert.equal((r.error as ValidationError).field, 'spec.ports.1');
  assert.equal((r.error as ValidationError).constraint, 'maximum');
});

test('registered formats: uuid, date-time, ipv4, cidr, email', () => {
  const v = compile(
    Type.Object({
      id: Type.Optional(Type.String({ format: 'uuid' })),
      at: Type.Optional(Type.String({ format: 'date-time' })),
      ip: Type.Optional(Type.String({ format: 'ipv4' })),
      net: Type.Optional(Type.String({ format: 'cidr' })),
      mail: Type.Optional(Type.String({ format: 'email' })),
    }),
    'body',
  );
  assert.ok(
    v({
      id: '0b0e6a9e-6f2e-4b8a-9a51-0c1f7f1b2d3e',
      at: '2025-12-12T08:30:00Z',
      ip: '10.0.0.1',
      net: 'fd00::/8',
      mail: 'a@b.io',
    }).value,
  );
  for (const bad of [
    { id: 'x' },
    { at: '2025-13-45T99:00:00Z' },
    { ip: '10.0.0.256' },
    { net: '10.0.0.0/33' },
    { mail: 'nope' },
  ]) {
    const r = v(bad);
    assert.equal((r.error as ValidationError | undefined)?.constraint, 'format', JSON.stringify(bad));
  }
});
