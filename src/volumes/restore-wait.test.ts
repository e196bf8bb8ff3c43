import { describe, expect, it } from 'vitest';
import { restoreWaitContainer } from './restore-wait.js';

const ctx = { runAsNonRoot: true, runAsUser: 65532 };

describe('restoreWaitContainer', () => {
  it('waits for the marker of this restore in every restored volume', () => {
    expect(
      restoreWaitContainer({
        restoreName: 'r1',
        volumes: ['data', 'claim'],
        image: 'img',
        securityContext: ctx,
      }),
    ).toEqual({
      name: 'lifeboat-restore-wait',
      image: 'img',
      command: [
        'sh',
        '-c',
        'until [ -f /restore/0/.lifeboat-restore/r1 ] && [ -f /restore/1/.lifeboat-restore/r1 ]; do sleep 1; done',
      ],
      volumeMounts: [
        { name: 'data', mountPath: '/restore/0' },
        { name: 'claim', mountPath: '/restore/1' },
      ],
      securityContext: ctx,
    });
  });

  it('refuses a restore name that is not an object name (it becomes a file name)', () => {
    expect(() =>
      restoreWaitContainer({ restoreName: '../x', volumes: ['d'], image: 'i', securityContext: ctx }),
    ).toThrow('restore name "../x" is not a valid object name');
  });
});
