/** @module Reading request bodies with size caps and strict parameter parsing. */
import { OAuthError } from './errors.ts';

/** Reads the body as text, refusing more than `maxBytes` (checked while streaming, not only by Content-Length). */
export async function readBodyText(req: Request, maxBytes: number): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new OAuthError('invalid_request', 'request body too large', 413);
  if (!req.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new OAuthError('invalid_request', 'request body too large', 413);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Media type of a request without parameters, lower-cased. */
export function mediaType(req: Request): string {
  return (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Parses `application/x-www-form-urlencoded` into a map, refusing repeated parameters
 * (RFC 6749 §3.1/§3.2: "parameters MUST NOT be included more than once"); `multi` names may repeat.
 */
export function parseForm(text: string, multi: readonly string[] = []): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(text)) {
    const list = out.get(k) ?? [];
    if (list.length > 0 && !multi.includes(k)) throw new OAuthError('invalid_request', `parameter ${k} repeated`);
    list.push(v);
    out.set(k, list);
  }
  return out;
}

/** Same as parseForm, for URL query strings. */
export function parseQuery(url: URL, multi: readonly string[] = []): Map<string, string[]> {
  return parseForm(url.search.slice(1), multi);
}

/** The single value of `name`, or undefined when absent or empty (RFC 6749 §3.1: empty = omitted). */
export function param(form: Map<string, string[]>, name: string): string | undefined {
  const v = form.get(name)?.[0];
  return v === undefined || v === '' ? undefined : v;
}
