/** issue 9 item 11: tables are measured in terminal cells (Bun.stringWidth), so CJK and emoji text keeps columns aligned. */
import { describe, expect, test } from 'bun:test';
import { displayWidth, formatTable, padEndWidth, truncateText } from '../../cmd/io.ts';
import { headerLine, rowLine } from '../../cmd/logs.ts';

/** The terminal column where `needle` starts in `line`. */
const columnOf = (line: string, needle: string) => displayWidth(line.slice(0, line.indexOf(needle)));

describe('issue 9 item 11: display-width-aware tables', () => {
  test('a wide-character backend description keeps the next column aligned', () => {
    const table = formatTable(
      ['NAME', 'DESCRIPTION', 'TOOLS'],
      [
        ['erp', 'Enterprise resources', 4],
        ['docs', '社内文書の検索', 2],
        ['chat', '🚀 launches 👩‍💻 jobs', 7],
        ['café', 'accents: naïve résumé', 1],
      ],
    );
    const lines = table.split('\n');
    const at = columnOf(lines[0], 'TOOLS');
    expect(lines.map((l, i) => columnOf(l, String(['TOOLS', 4, 2, 7, 1][i])))).toEqual([at, at, at, at, at]);
    // '社内文書の検索' is 7 characters but 14 cells: the column is as wide as the widest cell, in cells.
    expect(at).toBe(4 + 2 + displayWidth('accents: naïve résumé') + 2);
  });

  test('padEndWidth and displayWidth count cells, not UTF-16 units', () => {
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('👩‍💻')).toBe(2);
    expect(displayWidth('\u001b[31mred\u001b[0m')).toBe(3);
    expect(padEndWidth('日本', 6)).toBe('日本  ');
    expect(padEndWidth('toolong', 3)).toBe('toolong');
  });

  test('truncateText cuts at a cell width and never splits a character', () => {
    expect(truncateText('短い', 10)).toBe('短い');
    expect(truncateText('社内文書の検索', 8)).toBe('社内文…');
    expect(displayWidth(truncateText('社内文書の検索', 8))).toBeLessThanOrEqual(8);
    expect(truncateText('👩‍💻👩‍💻👩‍💻👩‍💻', 5)).toBe('👩‍💻👩‍💻…');
    expect(truncateText('plain   text\nhere', 60)).toBe('plain text here');
    expect(truncateText('abcdefghij', 5)).toBe('abcd…');
  });

  test('mcpgw logs rows stay under their header with a CJK client name', () => {
    const row = rowLine({
      id: 1, time: '2026-12-01T10:00:00.000Z', kind: 'call', event: 'tools/call', outcome: 'ok', grant_id: 'g', client_id: 'c',
      client_name: '克劳德桌面版客户端应用程序', backend: 'erp', tool: 'search', duration_ms: 12, error: null, ip: null, detail: null,
    });
    expect(columnOf(row, 'erp')).toBe(columnOf(headerLine(), 'BACKEND'));
    expect(columnOf(row, '12ms')).toBe(columnOf(headerLine(), 'DURATION'));
  });
});
