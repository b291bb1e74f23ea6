import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { S3Error } from './s3-error.js';
import { childText, children, parseXml, toXml } from './xml.js';

test('toXml renders nested trees, lists and escapes text', () => {
  const xml = toXml('R', { A: 'x<&>"\'', L: [{ K: 1 }, { K: 2 }], Skip: undefined, B: true });
  assert.equal(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><A>x&lt;&amp;&gt;&quot;&apos;</A><L><K>1</K></L><L><K>2</K></L><B>true</B></R>',
  );
});

test('parseXml reads S3 request documents with namespaces, entities and CDATA', () => {
  const doc = parseXml(
    '<?xml version="1.0"?><!-- c --><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>' +
      '<Object><Key>a&amp;b &#x41;&#66;</Key></Object><Object><Key><![CDATA[<raw>]]></Key></Object><s3:Empty/></Delete>',
  );
  assert.equal(doc.name, 'Delete');
  assert.equal(childText(doc, 'Quiet'), 'true');
  assert.deepEqual(
    children(doc, 'Object').map((o) => childText(o, 'Key')),
    ['a&b AB', '<raw>'],
  );
  assert.equal(childText(doc, 'Empty'), '');
});

test('parseXml rejects malformed documents with MalformedXML', () => {
  for (const bad of ['', '<a>', '<a></b>', '<a/><b/>', 'text', '<a>&#xFFFFFFF;</a>', '<'.repeat(3)]) {
    assert.throws(
      () => parseXml(bad),
      (e: S3Error) => e.code === 'MalformedXML',
      bad,
    );
  }
  assert.throws(
    () => parseXml('<a>'.repeat(40) + '</a>'.repeat(40)),
    (e: S3Error) => e.code === 'MalformedXML',
  );
});
