/**
 * Forwarding a backend's result in the text it came in (issue 7 speed: no JSON.parse + JSON.stringify round
 * trip of results the gateway only forwards): the slice must be exactly the result's JSON, or nothing.
 */
import { describe, expect, test } from 'bun:test';
import { resultSlice, type RpcMessage } from '../../src/backends/rpc.ts';

const slice = (line: string) => resultSlice(line, JSON.parse(line) as RpcMessage);

describe('resultSlice', () => {
  test('the SDK order {result, jsonrpc, id} and the spec order {jsonrpc, id, result}, numeric and string ids', () => {
    const result = { content: [{ type: 'text', text: 'hi "there" \\ é 😀 \u2028' }], isError: false };
    const r = JSON.stringify(result);
    for (const id of [0, 7, -3, 2 ** 53 - 1, 'a', 'with "quotes" and \\ back', 'ünï']) {
      const idText = JSON.stringify(id);
      for (const line of [`{"result":${r},"jsonrpc":"2.0","id":${idText}}`, `{"jsonrpc":"2.0","id":${idText},"result":${r}}`]) {
        const text = slice(line);
        expect(text).toBe(r);
        expect(JSON.parse(text!)).toEqual(result);
      }
    }
  });

  test('a result that is itself an object with "id", "jsonrpc" or "result" members is sliced whole', () => {
    const r = JSON.stringify({ result: 1, jsonrpc: '2.0', id: 5, nested: { id: 5 } });
    expect(slice(`{"result":${r},"jsonrpc":"2.0","id":5}`)).toBe(r);
    expect(slice(`{"jsonrpc":"2.0","id":5,"result":${r}}`)).toBe(r);
  });

  test('a big result (2 MB) is sliced without being re-serialized', () => {
    const r = JSON.stringify({ content: [{ type: 'text', text: 'x'.repeat(2 * 1024 * 1024) }] });
    expect(slice(`{"result":${r},"jsonrpc":"2.0","id":12}`)?.length).toBe(r.length);
  });

  test('anything else is not sliced: whitespace, other members, errors, other orders, notifications', () => {
    for (const line of [
      '{ "result":{},"jsonrpc":"2.0","id":1}',
      '{"result":{},"jsonrpc":"2.0","id":1 }',
      '{"result":{}, "jsonrpc":"2.0","id":1}',
      '{"result":{},"jsonrpc":"2.0","id":1,"extra":true}',
      '{"result":{},"extra":true,"jsonrpc":"2.0","id":1}',
      '{"jsonrpc":"2.0","result":{},"id":1}',
      '{"id":1,"jsonrpc":"2.0","result":{}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}',
      '{"error":{"code":1,"message":"x"},"jsonrpc":"2.0","id":1}',
      '{"jsonrpc":"2.0","method":"notifications/progress","params":{}}',
      '{"result":{},"jsonrpc":"2.0","id":null}',
      '{"result":{},"jsonrpc":"2.0","id":1.0}',
    ]) {
      expect(slice(line)).toBeUndefined();
    }
  });
});
