import { describe, expect, it } from 'vitest';
import { BackupPodHooks, failureReason, hookedPodOf, type HookedPod } from './backup-hooks.js';
import type { PodExecRequest, PodExecResult } from '../kube/pod-exec.js';
import { RunLog } from '../observe/run-log.js';

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
    spec: {
      containers: [{ name: 'db', image: 'postgres', env: [{ name: 'PASSWORD', value: 'x' }] }],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } },
        { name: 'tmp', emptyDir: {} },
      ],
    },
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
      claims: ['data-db-0'],
      fsVolumes: {
        annotations: {},
        volumes: [
          { name: 'data', type: 'persistentVolumeClaim' },
          { name: 'tmp', type: 'emptyDir' },
        ],
      },
    });
  });
});

describe('BackupPodHooks: pods left to the volume phase', () => {
  const hooked = (name: string): HookedPod => ({
    namespace: 'shop',
    name,
    containers: ['db'],
    pre: [
      {
        source: 'annotation',
        name: 'a',
        index: 0,
        container: 'db',
        command: ['freeze'],
        onError: 'Fail',
        timeoutMs: 1000,
      },
    ],
    post: [
      {
        source: 'annotation',
        name: 'a',
        index: 0,
        container: 'db',
        command: ['thaw'],
        onError: 'Fail',
        timeoutMs: 1000,
      },
    ],
    errors: [],
    claims: ['data'],
    fsVolumes: { annotations: {}, volumes: [{ name: 'data', type: 'persistentVolumeClaim' }] },
  });

  it('runs hooks around the capture, and those of a pod the phase never brought after it, with a warning', async () => {
    const ran: string[] = [];
    const hooks = new BackupPodHooks([hooked('captured'), hooked('missed')], {
      exec: (r: PodExecRequest) => {
        ran.push(`${r.pod}:${r.command.join(' ')}`);
        return Promise.resolve(ok);
      },
      runLog: new RunLog(),
    });
    await hooks.beforeListing((pod) => pod.claims.length > 0);
    expect(ran).toEqual([]);
    await hooks.aroundPod({ namespace: 'shop', name: 'captured' }, () => {
      ran.push('captured:snapshot');
      return Promise.resolve();
    });
    await hooks.afterListing();
    await hooks.afterVolumes();
    expect(ran).toEqual([
      'captured:freeze',
      'captured:snapshot',
      'captured:thaw',
      'missed:freeze',
      'missed:thaw',
    ]);
    expect(hooks.warnings).toEqual([
      "pod shop/missed: no volume of it was captured, so its hooks ran after the backup's listing instead of around its volumes",
    ]);
  });
});
