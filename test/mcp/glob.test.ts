/** issue 9 item 11: allow/deny globs go through picomatch; the cases the hand-written matcher handled stay the same. */
import { describe, expect, test } from 'bun:test';
import { globMatch, toolAllowed } from '../../src/mcp/catalog.ts';

describe('issue 9 item 11: globMatch (picomatch) for tools.allow / tools.deny', () => {
  test('`*` and `?` as before: whole-name match, any run / one character', () => {
    expect(globMatch('*', 'anything_at-all.v2')).toBe(true);
    expect(globMatch('delete_*', 'delete_doc')).toBe(true);
    expect(globMatch('delete_*', 'undelete_doc')).toBe(false);
    expect(globMatch('*_doc', 'get_doc')).toBe(true);
    expect(globMatch('get?', 'gets')).toBe(true);
    expect(globMatch('get?', 'get')).toBe(false);
    expect(globMatch('get?', 'getss')).toBe(false);
    expect(globMatch('*_*', 'a_b')).toBe(true);
  });

  test('dots are literal and `*` covers them, a leading dot included', () => {
    expect(globMatch('a.b', 'a.b')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('admin.*', 'admin.tools.list')).toBe(true);
    expect(globMatch('*.list', 'admin.tools.list')).toBe(true);
    expect(globMatch('*', '.hidden')).toBe(true);
  });

  test('`*` crosses slashes (SEP-986 names like github/create_issue), so a deny cannot be dodged by a slash', () => {
    expect(globMatch('github*', 'github/create_issue')).toBe(true);
    expect(globMatch('*issue', 'github/repo/create_issue')).toBe(true);
    expect(globMatch('*', 'user-profile/update')).toBe(true);
    expect(toolAllowed({ prefix: false, deny: ['github*'], rename: {}, descriptions: {} }, 'github/delete_repo')).toBe(false);
  });

  test('regex characters are literal (no injection into a RegExp)', () => {
    for (const name of ['a+b', '(x)', '$x', 'a|b', 'x^y']) expect(globMatch(name, name)).toBe(true);
    expect(globMatch('a+b', 'aab')).toBe(false);
    expect(globMatch('a|b', 'a')).toBe(false);
  });

  test('brackets: a class matches one of its characters; an unclosed bracket is literal', () => {
    expect(globMatch('[gl]et_*', 'get_doc')).toBe(true);
    expect(globMatch('[gl]et_*', 'let_doc')).toBe(true);
    expect(globMatch('[gl]et_*', 'set_doc')).toBe(false);
    expect(globMatch('v[0-9]', 'v7')).toBe(true);
    expect(globMatch('x[', 'x[')).toBe(true);
  });

  test('new with the library: braces and an escaped literal star', () => {
    expect(globMatch('{get,list}_*', 'list_docs')).toBe(true);
    expect(globMatch('{get,list}_*', 'put_docs')).toBe(false);
    expect(globMatch('a\\*', 'a*')).toBe(true);
    expect(globMatch('a\\*', 'ab')).toBe(false);
  });

  test('deny wins over allow; an empty allow list allows all', () => {
    const policy = { prefix: false as const, allow: ['get_*', 'list_*'], deny: ['get_secret*'], rename: {}, descriptions: {} };
    expect(toolAllowed(policy, 'get_doc')).toBe(true);
    expect(toolAllowed(policy, 'get_secret_key')).toBe(false);
    expect(toolAllowed(policy, 'delete_doc')).toBe(false);
    expect(toolAllowed({ ...policy, allow: [] }, 'delete_doc')).toBe(true);
  });
});
