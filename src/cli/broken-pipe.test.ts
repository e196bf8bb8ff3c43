import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exitQuietlyOnBrokenPipe } from './broken-pipe.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`write ${code}`), { code });
}

describe('exitQuietlyOnBrokenPipe', () => {
  it('exits with status 0 when the reader has closed the pipe', () => {
    const stream = new PassThrough();
    const codes: number[] = [];
    exitQuietlyOnBrokenPipe(stream, (code) => codes.push(code));
    stream.emit('error', errno('EPIPE'));
    expect(codes).toEqual([0]);
  });

  it('lets any other stdout failure through', () => {
    const stream = new PassThrough();
    const codes: number[] = [];
    exitQuietlyOnBrokenPipe(stream, (code) => codes.push(code));
    expect(() => stream.emit('error', errno('ENOSPC'))).toThrow('write ENOSPC');
    expect(codes).toEqual([]);
  });
});
