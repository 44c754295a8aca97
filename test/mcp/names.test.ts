import { describe, expect, test } from 'bun:test';
import { EXPOSED_NAME, exposeName, exposeUri, resolveNames, sanitizeName, splitUri, type NameRequest } from '../../src/mcp/names.ts';
import { buildView, globMatch, routeUri, type BackendCatalog } from '../../src/mcp/catalog.ts';

const opts = { separator: '_', maxLength: 64 };
const req = (backend: string, original: string, prefix: string | false = backend): NameRequest => ({ backend, original, base: original, prefix });

describe('names [spec-checklist 3.2]', () => {
  test('odd characters are mapped into ^[a-zA-Z0-9_-]{1,64}$', () => {
    for (const n of ['admin.tools.list', 'a/b c', 'ümlaut', '', 'x'.repeat(200), '…']) {
      expect(exposeName(req('erp', n), opts)).toMatch(EXPOSED_NAME);
    }
    expect(exposeName(req('erp', 'admin.tools.list'), opts)).toBe('erp_admin_tools_list');
    expect(sanitizeName('')).toBe('_');
  });

  test('an over-long name is shortened deterministically with a hash and respects max_length', () => {
    const long = 'very_long_tool_name_'.repeat(6);
    const a = exposeName(req('files', long), opts);
    const b = exposeName(req('files', long), opts);
    expect(a).toBe(b);
    expect(a.length).toBe(64);
    expect(a).toMatch(/_[0-9a-f]{6}$/);
    expect(exposeName(req('files', long), { separator: '_', maxLength: 40 }).length).toBe(40);
    expect(exposeName(req('files', long + 'x'), opts)).not.toBe(a);
  });

  test('a collision after mapping keeps one name and suffixes the other, whatever the input order', () => {
    const reqs = [req('b', 'search', false), req('a', 'search', false)];
    const one = resolveNames(reqs, opts);
    const two = resolveNames([...reqs].reverse(), opts);
    const names = (r: typeof one) => Object.fromEntries(r.entries.map((e) => [e.backend, e.exposed]));
    expect(names(one)).toEqual(names(two));
    expect(names(one).a).toBe('search');
    expect(names(one).b).toMatch(/^search_[0-9a-f]{6}$/);
    expect(one.collisions).toEqual([{ name: 'search', kept: { backend: 'a', original: 'search' }, renamed: { backend: 'b', original: 'search', exposed: names(one).b } }]);
  });

  test('within one backend the exact name wins over a mapped one', () => {
    const r = resolveNames([req('x', 'a.b', false), req('x', 'a_b', false)], opts);
    expect(r.entries.find((e) => e.original === 'a_b')!.exposed).toBe('a_b');
    expect(r.entries.find((e) => e.original === 'a.b')!.exposed).toMatch(/^a_b_[0-9a-f]{6}$/);
  });

  test('adding another, non-colliding backend changes no existing name', () => {
    const before = resolveNames([req('erp', 'search'), req('erp', 'get')], opts).entries.map((e) => e.exposed);
    const after = resolveNames([req('erp', 'search'), req('erp', 'get'), req('aaa', 'search'), req('zzz', 'get')], opts).entries.filter((e) => e.backend === 'erp').map((e) => e.exposed);
    expect(after.sort()).toEqual(before.sort());
  });

  test('resource URIs keep the backend scheme and reverse exactly', () => {
    for (const uri of ['file:///srv/a.txt', 'test://static/hello', 'git+ssh://host/repo', 'urn:x:y']) {
      const exposed = exposeUri(uri, 'docs');
      expect(exposed.startsWith(uri.split(':')[0] + '+docs:')).toBe(true);
      expect(splitUri(exposed)).toEqual({ tag: 'docs', original: uri });
    }
    expect(splitUri('file:///no-tag')).toBeUndefined();
  });

  test('issue 7 fault 11: without a tag (prefix: false) a URI is exposed unchanged', () => {
    for (const uri of ['file:///srv/a.txt', 'test://static/hello', 'git+ssh://host/repo', 'no-scheme']) expect(exposeUri(uri, undefined)).toBe(uri);
  });
});

describe('catalog view', () => {
  const policy = { prefix: 'erp' as const, allow: ['*'], deny: ['delete_*'], rename: { get_doc: 'fetch' }, descriptions: { list: 'Lists things' } };
  const cat: BackendCatalog = {
    name: 'erp',
    policy,
    tools: [
      { name: 'get_doc', title: 'Get', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true }, _meta: { 'x/y': 1 }, icons: [{ src: 'https://i' }] },
      { name: 'delete_doc', inputSchema: { type: 'object' } },
      { name: 'list', description: 'orig' },
    ],
    prompts: [{ name: 'greet' }],
    resources: [{ uri: 'file:///a', name: 'a' }],
    templates: [{ uriTemplate: 'file:///{p}', name: 't' }],
  };

  test('allow/deny/rename/descriptions applied; other fields preserved untouched', () => {
    const v = buildView([cat], opts);
    const tools = v.tools.map((t) => t.item);
    expect(tools.map((t) => t.name).sort()).toEqual(['erp_fetch', 'erp_list']);
    const fetch = tools.find((t) => t.name === 'erp_fetch')!;
    expect(fetch).toEqual({ name: 'erp_fetch', title: 'Get', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true }, _meta: { 'x/y': 1 }, icons: [{ src: 'https://i' }] });
    expect(tools.find((t) => t.name === 'erp_list')!.description).toBe('Lists things');
    expect(tools.find((t) => t.name === 'erp_list')!.inputSchema).toEqual({ type: 'object', properties: {} });
    expect(v.toolRoutes.get('erp_fetch')).toEqual({ backend: 'erp', original: 'get_doc' });
    expect(routeUri(v, 'file+erp:///a')).toEqual({ backend: 'erp', original: 'file:///a' });
    expect(v.templates[0].item.uriTemplate).toBe('file+erp:///{p}');
  });

  test('globMatch', () => {
    expect(globMatch('delete_*', 'delete_doc')).toBe(true);
    expect(globMatch('get?', 'gets')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
  });
});
