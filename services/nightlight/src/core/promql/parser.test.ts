import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parsePromQL, PromQLParseError, unquoteString } from './parser.js';
import { compileAnchoredRegex, expandTemplate } from './regex.js';

test('parses selectors with offset and @ in either order onto the selector', () => {
  const e = parsePromQL('rate(foo{a=~"b.*"}[5m] offset 1m @ 100)');
  assert.equal(e.kind, 'call');
  const m = e.kind === 'call' ? e.args[0] : undefined;
  assert.ok(m && m.kind === 'matrixSelector');
  assert.equal(m.range, 300_000);
  assert.equal(m.vs.offset, 60_000);
  assert.deepEqual(m.vs.at, { kind: 'time', ms: 100_000 });
  const b = parsePromQL('a offset 15m or b @ end()');
  assert.ok(b.kind === 'binary' && b.lhs.kind === 'vectorSelector' && b.rhs.kind === 'vectorSelector');
  assert.equal(b.lhs.offset, 900_000);
  assert.deepEqual(b.rhs.at, { kind: 'end' });
});

test('unary minus binds looser than ^', () => {
  const e = parsePromQL('-2^2');
  assert.ok(e.kind === 'unary' && e.op === '-');
});

test("rejects what Prometheus' parser rejects", () => {
  for (const q of [
    'sum(',
    '{}',
    '{a=~".*"}',
    '1 > 2',
    'rate(foo)',
    'foo and 1',
    'sum(foo) offset 5m',
    'foo[5m][5m]',
    'label_join(foo)',
    '{__name__="a"} + on(x) group_left(x) b',
    'nosuchfunc(foo)',
  ]) {
    assert.throws(() => parsePromQL(q), PromQLParseError, q);
  }
});

test('string literals unquote Go escapes; raw strings are kept', () => {
  assert.equal(unquoteString('"a\\n\\x41\\u00e9"'), 'a\nAé');
  assert.equal(unquoteString("'it\\'s'"), "it's");
  assert.equal(unquoteString('`\\d+`'), '\\d+');
});

test('RE2 regexes are anchored and flag groups are translated', () => {
  assert.ok(compileAnchoredRegex('(?i)abc').test('ABC'));
  assert.ok(compileAnchoredRegex('x(?i:ab)y').test('xABy'));
  assert.ok(!compileAnchoredRegex('x(?i:ab)y').test('XABy'));
  assert.ok(!compileAnchoredRegex('ab').test('xaby'));
  assert.ok(compileAnchoredRegex('[[:digit:]]+').test('123'));
  const m = compileAnchoredRegex('(?P<host>[a-z]+):(\\d+)').exec('web:80');
  assert.ok(m);
  assert.equal(expandTemplate('$host-${2}-$1x-$$', m), 'web-80--$');
});
