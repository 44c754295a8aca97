import { describe, expect, test } from 'bun:test';
import { createLogger, redactString } from '../src/log.ts';

describe('log', () => {
  const capture = (json: boolean) => {
    const lines: string[] = [];
    return { lines, log: createLogger({ json, write: (l) => void lines.push(l), now: () => Date.UTC(2026, 0, 1, 12, 0, 0) }) };
  };

  test('JSON lines when not on a TTY: one object per event, with child fields', () => {
    const { lines, log } = capture(true);
    log.child({ backend: 'erp' }).info('backend up', { tools: 3 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({ time: '2026-01-01T12:00:00.000Z', level: 'info', msg: 'backend up', backend: 'erp', tools: 3 });
  });

  test('readable lines on a TTY', () => {
    const { lines, log } = capture(false);
    log.warn('backend down', { backend: 'erp', error: 'connection refused' });
    expect(lines[0]).toBe('12:00:00 WARN  backend down backend=erp error="connection refused"\n');
  });

  test('levels filter, and children share the level', () => {
    const { lines, log } = capture(true);
    const child = log.child({ c: 1 });
    child.debug('hidden');
    log.setLevel('debug');
    child.debug('shown');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });

  test('secrets never reach the log: secret-named fields, bearer tokens, JWTs, mcpgw tokens', () => {
    const { lines, log } = capture(true);
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvd25lciJ9.c2lnbmF0dXJlLXZhbHVl';
    log.info(`got Bearer abcdef123456 and ${jwt}`, { password: 'hunter2', headers: { authorization: 'Bearer xyz123456', 'x-ok': 'fine' }, note: 'mcpgw_pat_ABCDEFGHIJKLMNOP' });
    const out = lines[0];
    for (const secret of ['abcdef123456', jwt, 'hunter2', 'xyz123456', 'mcpgw_pat_ABCDEFGHIJKLMNOP']) expect(out).not.toContain(secret);
    expect(out).toContain('fine');
    expect(redactString('Basic dXNlcjpwYXNz')).toBe('Basic [redacted]');
  });

  test('a failing writer never throws into the caller', () => {
    const log = createLogger({ json: true, write: () => { throw new Error('EPIPE'); } });
    expect(() => log.error('x')).not.toThrow();
  });
});
