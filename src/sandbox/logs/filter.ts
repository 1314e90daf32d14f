/**
 * FilterLogEvents filter patterns, the unstructured subset (CloudWatch Logs User Guide, "Filter pattern syntax
 * for metric filters, subscription filters, filter log events": matching terms in unstructured log events):
 * terms are case-sensitive substrings that must all appear, `"quoted phrases"` match as a whole, `?term`
 * matches events with any of the `?` terms, `-term` excludes events with the term. JSON (`{ $.x = 1 }`),
 * space-delimited (`[ip, user, ...]`) and regular-expression (`%…%`) patterns are not served by the sandbox.
 */
import { ServiceError } from '../protocol/errors.ts';

/** A compiled pattern: true when the message matches. */
export type LogFilter = (message: string) => boolean;

/**
 * Compiles an unstructured filter pattern.
 *
 * @throws ServiceError `NotImplemented` for JSON, space-delimited and regular-expression patterns.
 * @example
 * compileFilter('"not ok" -TODO')('not ok 1 - adds'); // true
 * compileFilter('?ERROR ?WARN')('WARN disk'); // true
 */
export function compileFilter(pattern: string | undefined): LogFilter {
  const text = (pattern ?? '').trim();
  if (text === '') return () => true;
  if (text.startsWith('{') || text.startsWith('[') || text.startsWith('%')) {
    throw new ServiceError(
      'NotImplemented',
      'The sandbox serves FilterLogEvents with unstructured filter patterns only (terms, "quoted phrases", ' +
        '?any-of, -exclude); run JSON, space-delimited and regular-expression patterns against AWS',
    );
  }
  const all: string[] = [];
  const any: string[] = [];
  const none: string[] = [];
  for (const match of text.matchAll(/([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)) {
    const term = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
    if (term === '') continue;
    if (match[1] === '?') any.push(term);
    else if (match[1] === '-') none.push(term);
    else all.push(term);
  }
  return (message) =>
    all.every((t) => message.includes(t)) &&
    (any.length === 0 || any.some((t) => message.includes(t))) &&
    !none.some((t) => message.includes(t));
}
