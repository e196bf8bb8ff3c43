import { describe, expect, it } from 'vitest';
import { LineSplitter, parseWatchLine } from './watch-stream.js';

describe('LineSplitter', () => {
  it('puts lines split across chunks together, and keeps several lines of one chunk apart', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('{"a":');
    s.push('1}\n{"b":2}\n{"c"');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    s.push(':3}\n');
    s.push('{"d":4}');
    s.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
  });

  it('refuses a line longer than its limit instead of holding it', () => {
    const s = new LineSplitter(() => undefined, 10);
    s.push('0123456789\n');
    expect(() => s.push('0123456789A')).toThrow(/longer than 10 bytes/);
  });
});

describe('parseWatchLine', () => {
  it('reads an event, its type and object', () => {
    const line = JSON.stringify({
      type: 'ADDED',
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', resourceVersion: '7' } },
    });
    expect(parseWatchLine(line)).toEqual({
      event: {
        type: 'ADDED',
        object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', resourceVersion: '7' } },
      },
    });
    expect(parseWatchLine('  ')).toBeUndefined();
  });

  it("turns an ERROR event into the API server's status (410 Gone: the revision is too old)", () => {
    const line = JSON.stringify({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' },
    });
    expect(parseWatchLine(line)).toEqual({
      error: { code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' },
    });
  });

  it('names what is wrong with a line that is not an event', () => {
    expect(() => parseWatchLine('<html>')).toThrow(/not JSON: <html>/);
    expect(() => parseWatchLine('{"type":"SOMETHING","object":{}}')).toThrow(/unknown event/);
    expect(() => parseWatchLine('{"type":"ADDED"}')).toThrow(/unknown event/);
  });
});
