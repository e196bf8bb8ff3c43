import { describe, expect, it } from 'vitest';
import { failureReason, hookedPodOf } from './backup-hooks.js';
import type { PodExecResult } from '../kube/pod-exec.js';

const ok: PodExecResult = {
  exitCode: 0,
  stdout: '',
  stderr: '',
  stdoutDropped: 0,
  stderrDropped: 0,
  durationMs: 5,
  timedOut: false,
};

describe('failureReason', () => {
  it.each<[string, Partial<PodExecResult>, string | undefined]>([
    ['exit 0 succeeds', {}, undefined],
    ['a non-zero exit code', { exitCode: 2 }, 'exit code 2'],
    ['a timeout', { exitCode: undefined, timedOut: true }, 'timed out after 30s and was abandoned'],
    ['a runtime failure', { exitCode: undefined, failure: 'container not found' }, 'container not found'],
    ['no status at all', { exitCode: undefined }, 'ended without an exit code'],
  ])('%s', (_what, over, expected) => {
    expect(failureReason({ ...ok, ...over }, 30_000)).toBe(expected);
  });
});

describe('hookedPodOf', () => {
  const pod = (annotations?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'shop', name: 'db-0', ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'db', image: 'postgres', env: [{ name: 'PASSWORD', value: 'x' }] }] },
    status: { phase: 'Running' },
  });

  it('a pod without hooks is not kept', () => {
    expect(hookedPodOf(pod(), undefined)).toBeUndefined();
  });

  it('keeps a small record: names, container names, resolved hooks; not the annotations or spec', () => {
    expect(
      hookedPodOf(pod({ 'pre.hook.backup.velero.io/command': 'sync', other: 'big' }), undefined),
    ).toEqual({
      namespace: 'shop',
      name: 'db-0',
      containers: ['db'],
      phase: 'Running',
      pre: [
        {
          source: 'annotation',
          name: '<from-annotation>',
          index: 0,
          container: 'db',
          command: ['sync'],
          onError: 'Fail',
          timeoutMs: 30_000,
        },
      ],
      post: [],
      errors: [],
    });
  });
});
