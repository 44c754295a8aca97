/**
 * The catalog view's URI handling (issue 7 fault 11, "What to build" item 10): with `prefix: false`
 * a backend's URIs pass unchanged, and an un-namespaced URI is routed by listing, by template or,
 * for the only unprefixed backend, by elimination; ambiguity names the backends.
 */
import { describe, expect, test } from 'bun:test';
import { buildView, exposeContentUris, resolveUri, routeUri, tagOf, templateRegExp, type BackendCatalog, type ExposurePolicy } from '../../src/mcp/catalog.ts';

const opts = { separator: '_', maxLength: 64 };
const policy = (prefix: string | false): ExposurePolicy => ({ prefix, deny: [], rename: {}, descriptions: {} });
const backend = (name: string, prefix: string | false, resources: string[], templates: string[] = []): BackendCatalog => ({
  name,
  policy: policy(prefix),
  tools: [],
  prompts: [],
  resources: resources.map((uri) => ({ uri, name: uri })),
  templates: templates.map((uriTemplate) => ({ uriTemplate, name: uriTemplate })),
});

describe('issue 7 fault 11: URIs of unprefixed backends pass unchanged', () => {
  test('resources and templates of a prefix: false backend are listed as the backend lists them; prefixed ones keep the tag', () => {
    const v = buildView([backend('conf', false, ['test://static-text'], ['test://template/{id}/data']), backend('docs', 'docs', ['file:///a.txt'], ['file:///{p}'])], opts);
    expect(v.resources.map((r) => r.item.uri).sort()).toEqual(['file+docs:///a.txt', 'test://static-text']);
    expect(v.templates.map((t) => t.item.uriTemplate).sort()).toEqual(['file+docs:///{p}', 'test://template/{id}/data']);
    expect(tagOf(v, 'conf')).toBeUndefined();
    expect(tagOf(v, 'docs')).toBe('docs');
    expect(routeUri(v, 'file+docs:///a.txt')).toEqual({ backend: 'docs', original: 'file:///a.txt' });
  });

  test('a listed URI, a template match and a template string itself (completion refs) route to the unprefixed backend', () => {
    const v = buildView([backend('conf', false, ['test://static-text'], ['test://template/{id}/data']), backend('docs', 'docs', ['file:///a.txt'])], opts);
    expect(routeUri(v, 'test://static-text')).toEqual({ backend: 'conf', original: 'test://static-text' });
    expect(routeUri(v, 'test://template/42/data')).toEqual({ backend: 'conf', original: 'test://template/42/data' });
    expect(routeUri(v, 'test://template/{id}/data')).toEqual({ backend: 'conf', original: 'test://template/{id}/data' });
  });

  test('the only unprefixed backend also gets URIs it does not list (links in its tool results)', () => {
    const v = buildView([backend('conf', false, []), backend('docs', 'docs', ['file:///a.txt'])], opts);
    expect(routeUri(v, 'test://embedded-resource')).toEqual({ backend: 'conf', original: 'test://embedded-resource' });
    // with every backend prefixed there is no fallback: an untagged URI is not found
    expect(routeUri(buildView([backend('docs', 'docs', ['file:///a.txt'])], opts), 'file:///a.txt')).toBeUndefined();
  });

  test('two unprefixed backends: listing decides, then templates; several candidates are named', () => {
    const v = buildView([backend('a', false, ['file:///a.txt'], ['file:///{name}']), backend('b', false, ['mem://x'], ['file:///{name}', 'git://{+path}'])], opts);
    expect(resolveUri(v, 'file:///a.txt')).toEqual({ route: { backend: 'a', original: 'file:///a.txt' } });
    expect(resolveUri(v, 'mem://x')).toEqual({ route: { backend: 'b', original: 'mem://x' } });
    expect(resolveUri(v, 'git://host/deep/repo')).toEqual({ route: { backend: 'b', original: 'git://host/deep/repo' } });
    expect(resolveUri(v, 'file:///other.txt')).toEqual({ ambiguous: ['a', 'b'] });
    expect(routeUri(v, 'file:///other.txt')).toBeUndefined();
    expect(resolveUri(v, 'nothing://here')).toEqual({});
    // the caller's grant narrows the candidates before deciding
    expect(resolveUri(v, 'file:///other.txt', (b) => b === 'a')).toEqual({ route: { backend: 'a', original: 'file:///other.txt' } });
    expect(resolveUri(v, 'mem://x', (b) => b === 'a')).toEqual({ route: { backend: 'a', original: 'mem://x' } });
  });

  test('the same URI listed by two unprefixed backends is ambiguous', () => {
    const v = buildView([backend('a', false, ['test://same']), backend('b', false, ['test://same'])], opts);
    expect(resolveUri(v, 'test://same')).toEqual({ ambiguous: ['a', 'b'] });
  });

  test('content URIs (resource_link, embedded resources) are unchanged without a tag and tagged with one', () => {
    const content = [
      { type: 'resource_link', uri: 'test://x', name: 'x' },
      { type: 'resource', resource: { uri: 'test://y', text: 'y' } },
      { type: 'text', text: 't' },
    ];
    expect(exposeContentUris(content, undefined)).toBe(content);
    expect(exposeContentUris(content, 'conf')).toEqual([
      { type: 'resource_link', uri: 'test+conf://x', name: 'x' },
      { type: 'resource', resource: { uri: 'test+conf://y', text: 'y' } },
      { type: 'text', text: 't' },
    ]);
  });
});

describe('URI template matching (RFC 6570 operators as wildcards)', () => {
  const m = (t: string, uri: string) => templateRegExp(t)!.test(uri);
  test('{var} is one segment, {+var}/{#var} anything, {/var} segments, {?var} a query', () => {
    expect(m('test://template/{id}/data', 'test://template/42/data')).toBe(true);
    expect(m('test://template/{id}/data', 'test://template/4/2/data')).toBe(false);
    expect(m('file:///{path}', 'file:///a.txt')).toBe(true);
    expect(m('file:///{+path}', 'file:///dir/a.txt')).toBe(true);
    expect(m('repo://r{/owner,name}', 'repo://r/me/proj')).toBe(true);
    expect(m('search://q{?term,limit}', 'search://q?term=a&limit=2')).toBe(true);
    expect(m('doc://x{#frag}', 'doc://x#part')).toBe(true);
    expect(m('a.b://{x}', 'aXb://1')).toBe(false);
  });
  test('malformed or oversized templates never match (and never throw)', () => {
    expect(templateRegExp('test://{unclosed')).toBeUndefined();
    expect(templateRegExp('test://}x{')).toBeUndefined();
    expect(templateRegExp(`test://${'{a}'.repeat(17)}`)).toBeUndefined();
    expect(templateRegExp(`test://${'x'.repeat(3000)}`)).toBeUndefined();
  });
});

describe('buildView withhold (issue 9 item 10)', () => {
  const policy = { prefix: 'a' as const, deny: [], rename: {}, descriptions: {} };
  const tools = [{ name: 'echo', inputSchema: { type: 'object' } }, { name: 'add', inputSchema: { type: 'object' } }];
  test('a withheld tool is neither listed nor routed, keeps its exposed name in `withheld` with the reason', () => {
    const view = buildView([{ name: 'a', policy, tools, prompts: [], resources: [], templates: [] }], { separator: '_', maxLength: 64 }, { withhold: (b, t) => (b === 'a' && t === 'echo' ? 'changed' : undefined) });
    expect(view.tools.map((t) => t.item.name)).toEqual(['a_add']);
    expect(view.toolRoutes.has('a_echo')).toBe(false);
    expect(view.withheld.get('a_echo')).toEqual({ route: { backend: 'a', original: 'echo' }, reason: 'changed' });
  });
});
