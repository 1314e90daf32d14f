/**
 * S3's XML: documents in the `http://s3.amazonaws.com/doc/2006-03-01/` namespace, parsed and written with
 * fast-xml-parser. Request bodies are bounded, never expand entities a DOCTYPE declares, and a document that does
 * not parse is S3's `MalformedXML`.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { malformedXml } from './errors.ts';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
});

/** Elements that repeat in the request bodies the sandbox reads. */
const REPEATED = new Set(['Object', 'Tag']);

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true,
  isArray: (name) => REPEATED.has(name),
});

/** A parsed element: text, or children by name (repeated ones as arrays). */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] | undefined };

/** An XML document with its root element in S3's namespace, with the XML declaration S3 writes. */
export function xmlDocument(root: string, content: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: { '@_xmlns': S3_NAMESPACE, ...content } })}`;
}

/** An XML document without a namespace (S3's `<Error>` body). */
export function xmlPlain(root: string, content: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: content })}`;
}

/**
 * Parses a request body and returns its root element `root` (namespace prefixes removed).
 * Throws `MalformedXML` when the body is not well-formed, declares a DOCTYPE or has another root.
 */
export function parseXml(body: Buffer, root: string): Record<string, XmlNode | XmlNode[] | undefined> {
  const text = body.toString('utf8');
  if (text.trim() === '') throw malformedXml(`the body is empty; expected a <${root}> document`);
  if (/<!DOCTYPE/i.test(text)) throw malformedXml('a DOCTYPE declaration is not allowed');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformedXml(`${valid.err.msg} at line ${valid.err.line}`);
  const doc = parser.parse(text) as Record<string, unknown>;
  const element = doc[root];
  if (element === undefined) {
    const found = Object.keys(doc).filter((k) => !k.startsWith('?'));
    throw malformedXml(`expected the root element <${root}>, got <${found[0] ?? 'nothing'}>`);
  }
  if (typeof element === 'string') return {};
  return element as Record<string, XmlNode | XmlNode[] | undefined>;
}

/** The text of a child element (undefined when absent; '' for an empty element). */
export function text(node: XmlNode | XmlNode[] | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return node;
  if (Array.isArray(node)) return text(node[0]);
  const t = node['#text'];
  return typeof t === 'string' ? t : '';
}

/** Child elements as a list (a single one becomes a list of one). */
export function children(node: XmlNode | XmlNode[] | undefined): XmlNode[] {
  if (node === undefined) return [];
  return Array.isArray(node) ? node : [node];
}

/** A child of an element node (undefined for text nodes). */
export function child(node: XmlNode, name: string): XmlNode | XmlNode[] | undefined {
  return typeof node === 'string' ? undefined : node[name];
}
