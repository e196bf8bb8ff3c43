import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderStatusTree, restoreStatusPath } from './status-tree.js';

describe('renderStatusTree: restores', () => {
  it('writes the exec hooks a restore ran, without their output', () => {
    const files = renderStatusTree({
      revisions: { document: () => undefined, files: () => undefined },
      schedules: [],
      backups: [],
      finishedOneOffs: [],
      policyErrors: [],
      restores: [
        {
          name: 'shop',
          phase: 'Completed',
          planHash: 'sha256:abc',
          hooks: [
            {
              pod: 'shop/app',
              container: 'main',
              hook: '<from-annotation>',
              command: ['/bin/sh', '-c', 'echo ready'],
              exitCode: 0,
              failed: false,
            },
          ],
          conditions: [],
        },
      ],
    });
    const doc = parse(files.get(restoreStatusPath('shop')) ?? '') as Record<string, unknown>;
    expect(doc).toMatchObject({
      kind: 'RestoreStatus',
      hooks: [
        {
          pod: 'shop/app',
          container: 'main',
          hook: '<from-annotation>',
          command: ['/bin/sh', '-c', 'echo ready'],
          exitCode: 0,
          failed: false,
        },
      ],
    });
  });
});
