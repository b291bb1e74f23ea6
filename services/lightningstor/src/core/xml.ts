/**
 * Just enough XML for S3: a builder for responses and a small parser for the request documents S3
 * clients send (CompleteMultipartUpload, Delete, Tagging, VersioningConfiguration, CORSConfiguration).
 * The parser ignores attributes, namespaces prefixes, comments, processing instructions and DOCTYPEs
 * (entity definitions are never expanded, so no entity-expansion attacks).
 */
import { S3Error } from './s3-error.js';

/** Escape text for element content or attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** A response tree: element name → text, child tree, or a list (repeated elements). */
export type XmlValue = string | number | boolean | XmlTree | XmlValue[] | undefined | null;
/** An ordered set of child elements. */
export type XmlTree = { [name: string]: XmlValue };

function render(name: string, v: XmlValue, out: string[]): void {
  if (v === undefined || v === null) return;
  if (Array.isArray(v)) {
    for (const item of v) render(name, item, out);
    return;
  }
  if (typeof v === 'object') {
    out.push(`<${name}>`);
    for (const [k, child] of Object.entries(v)) render(k, child, out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(v))}</${name}>`);
}

/** Render `<root xmlns=S3>…</root>` with an XML declaration. */
export function toXml(
  root: string,
  tree: XmlTree,
  xmlns = 'http://s3.amazonaws.com/doc/2006-03-01/',
): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  out.push(xmlns === '' ? `<${root}>` : `<${root} xmlns="${xmlns}">`);
  for (const [k, v] of Object.entries(tree)) render(k, v, out);
  out.push(`</${root}>`);
  return out.join('');
}

/** A parsed element. */
export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

/** The first child called `name`. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every child called `name`. */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The text of the first child called `name`. */
export function childText(el: XmlElement, name: string): string | undefined {
  return child(el, name)?.text;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const code = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    if (!Number.isFinite(code) || code > 0x10ffff)
      throw new S3Error('MalformedXML', 'Bad character reference');
    return String.fromCodePoint(code);
  });
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

/** Parse a document; throws S3Error MalformedXML when it is not well formed. Depth is limited to 32. */
export function parseXml(doc: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const bad = (why: string): never => {
    throw new S3Error('MalformedXML', `The XML you provided was not well-formed: ${why}`);
  };
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const textEnd = lt < 0 ? doc.length : lt;
    if (textEnd > i) {
      const raw = doc.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top !== undefined) top.text += decodeEntities(raw);
      else if (raw.trim() !== '') bad('text outside the root element');
    }
    if (lt < 0) break;
    if (doc.startsWith('<?', lt)) {
      const end = doc.indexOf('?>', lt);
      if (end < 0) bad('unterminated processing instruction');
      i = end + 2;
    } else if (doc.startsWith('<!--', lt)) {
      const end = doc.indexOf('-->', lt);
      if (end < 0) bad('unterminated comment');
      i = end + 3;
    } else if (doc.startsWith('<![CDATA[', lt)) {
      const end = doc.indexOf(']]>', lt);
      if (end < 0) bad('unterminated CDATA');
      const top = stack[stack.length - 1];
      if (top === undefined) bad('CDATA outside the root element');
      else top.text += doc.slice(lt + 9, end);
      i = end + 3;
    } else if (doc.startsWith('<!', lt)) {
      const end = doc.indexOf('>', lt);
      if (end < 0) bad('unterminated declaration');
      i = end + 1;
    } else if (doc.startsWith('</', lt)) {
      const end = doc.indexOf('>', lt);
      if (end < 0) bad('unterminated end tag');
      const name = localName(doc.slice(lt + 2, end).trim());
      const top = stack.pop();
      if (top === undefined || top.name !== name) bad(`unexpected </${name}>`);
      i = end + 1;
    } else {
      const end = doc.indexOf('>', lt);
      if (end < 0) bad('unterminated start tag');
      let inner = doc.slice(lt + 1, end);
      const selfClosing = inner.endsWith('/');
      if (selfClosing) inner = inner.slice(0, -1);
      const m = /^([A-Za-z_][\w.:-]*)/.exec(inner);
      if (m === null || m[1] === undefined) return bad('bad element name');
      const el: XmlElement = { name: localName(m[1]), text: '', children: [] };
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.children.push(el);
      else if (root !== undefined) bad('more than one root element');
      else root = el;
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > 32) bad('too deeply nested');
      }
      i = end + 1;
    }
  }
  if (stack.length > 0 || root === undefined) bad('unexpected end of document');
  return root as XmlElement;
}
