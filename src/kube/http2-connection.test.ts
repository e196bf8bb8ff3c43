import { constants } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { unsent } from './http2-connection.js';

const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
const goaway = Object.assign(new Error('new stream on a closing session'), {
  code: 'ERR_HTTP2_GOAWAY_SESSION',
});
const timeout = Object.assign(new Error('no response in 60000 ms'), { code: 'timeout' });

describe('unsent: whether a failed stream surely never reached the API server', () => {
  const { NGHTTP2_REFUSED_STREAM: refused, NGHTTP2_CANCEL: cancel } = constants;
  it.each([
    {
      what: 'refused by the server (above a GOAWAY)',
      err: reset,
      rst: refused,
      answered: false,
      quiet: false,
      sure: true,
    },
    { what: 'started on a session already closing', err: goaway, answered: false, quiet: false, sure: true },
    {
      what: 'reset on a connection quiet since it was sent',
      err: reset,
      answered: false,
      quiet: true,
      sure: true,
    },
    {
      what: 'reset while the connection answered others',
      err: reset,
      answered: false,
      quiet: false,
      sure: false,
    },
    { what: 'reset after its own answer began', err: reset, answered: true, quiet: true, sure: false },
    {
      what: 'refused, but its answer had begun',
      err: reset,
      rst: refused,
      answered: true,
      quiet: true,
      sure: false,
    },
    { what: 'timed out on a quiet connection', err: timeout, answered: false, quiet: true, sure: false },
    {
      what: 'cancelled by the server (it may have read it)',
      err: reset,
      rst: cancel,
      answered: false,
      quiet: false,
      sure: false,
    },
  ])('$what: $sure', ({ err, rst, answered, quiet, sure }) => {
    expect(unsent(err, rst, answered, quiet)).toBe(sure);
  });
});
