import { describe, expect, it } from 'vitest';
import { execPath, exitCodeOfStatus } from './pod-exec.js';

describe('exitCodeOfStatus', () => {
  it.each([
    ['{"metadata":{},"status":"Success"}', { exitCode: 0 }],
    [
      JSON.stringify({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        message: 'command terminated with non-zero exit code: exit status 7',
        details: { causes: [{ reason: 'ExitCode', message: '7' }] },
      }),
      { exitCode: 7 },
    ],
    [
      JSON.stringify({ status: 'Failure', reason: 'InternalError', message: 'container not found ("x")' }),
      { failure: 'container not found ("x")' },
    ],
    ['not json', { failure: 'unreadable exec status: not json' }],
  ])('%s', (text, expected) => {
    expect(exitCodeOfStatus(text)).toEqual(expected);
  });
});

describe('execPath', () => {
  it('puts every command word in its own parameter, escaped', () => {
    expect(
      execPath({ namespace: 'shop', pod: 'db-0', container: 'db', command: ['sh', '-c', 'a && b'] }),
    ).toBe(
      '/api/v1/namespaces/shop/pods/db-0/exec?container=db&stdout=true&stderr=true&command=sh&command=-c&command=a+%26%26+b',
    );
  });
});
