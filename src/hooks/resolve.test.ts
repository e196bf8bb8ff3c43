import { describe, expect, it } from 'vitest';
import {
  backupHooksFor,
  parseHookCommand,
  restoreExecHooksFor,
  restoreInitContainersFor,
  type HookPod,
} from './resolve.js';
import type { BackupHooks, RestoreHooks } from './spec.js';

function pod(annotations: Record<string, string> = {}, over: Partial<HookPod> = {}): HookPod {
  return {
    namespace: 'shop',
    name: 'db-0',
    labels: { app: 'db' },
    annotations,
    containers: ['db', 'sidecar'],
    ...over,
  };
}

describe('parseHookCommand', () => {
  it.each([
    ['/sbin/fsfreeze', ['/sbin/fsfreeze']],
    ['/bin/sh -c "sync"', ['/bin/sh -c "sync"']],
    ['["/bin/sh","-c","sync; touch /x"]', ['/bin/sh', '-c', 'sync; touch /x']],
    ['[not json', 'not a JSON list of strings'],
    ['[1, 2]', 'not a JSON list of strings'],
    ['[]', 'an empty list'],
  ])('%s', (input, expected) => {
    const got = parseHookCommand(input);
    if (typeof expected === 'string') expect(got).toEqual(expect.stringContaining(expected));
    else expect(got).toEqual(expected);
  });
});

describe('backup hooks from annotations', () => {
  it.each<{
    what: string;
    annotations: Record<string, string>;
    phase: 'pre' | 'post';
    want: object;
  }>([
    {
      what: 'pre with defaults: first container, Fail, 30s',
      annotations: { 'pre.hook.backup.velero.io/command': '["sync"]' },
      phase: 'pre',
      want: { container: 'db', command: ['sync'], onError: 'Fail', timeoutMs: 30_000 },
    },
    {
      what: 'the unprefixed form is the pre hook',
      annotations: { 'hook.backup.velero.io/command': 'sync', 'hook.backup.velero.io/timeout': '1m' },
      phase: 'pre',
      want: { container: 'db', command: ['sync'], onError: 'Fail', timeoutMs: 60_000 },
    },
    {
      what: 'post with every field',
      annotations: {
        'post.hook.backup.velero.io/command': '["rm","/x"]',
        'post.hook.backup.velero.io/container': 'sidecar',
        'post.hook.backup.velero.io/on-error': 'Continue',
        'post.hook.backup.velero.io/timeout': '90s',
      },
      phase: 'post',
      want: { container: 'sidecar', command: ['rm', '/x'], onError: 'Continue', timeoutMs: 90_000 },
    },
  ])('$what', ({ annotations, phase, want }) => {
    const got = backupHooksFor(pod(annotations), phase, undefined);
    expect(got).toEqual({
      hooks: [{ source: 'annotation', name: '<from-annotation>', index: 0, ...want }],
      errors: [],
    });
  });

  it('the unprefixed form is not a post hook', () => {
    expect(backupHooksFor(pod({ 'hook.backup.velero.io/command': 'sync' }), 'post', undefined)).toEqual({
      hooks: [],
      errors: [],
    });
  });

  it.each([
    [
      { 'pre.hook.backup.velero.io/command': '["sync"', x: '' },
      'annotation pre.hook.backup.velero.io/command: not a JSON list',
    ],
    [
      { 'pre.hook.backup.velero.io/command': 'sync', 'pre.hook.backup.velero.io/on-error': 'Ignore' },
      'annotation pre.hook.backup.velero.io/on-error: must be Continue or Fail, not "Ignore"',
    ],
    [
      { 'pre.hook.backup.velero.io/command': 'sync', 'pre.hook.backup.velero.io/timeout': '5 minutes' },
      'annotation pre.hook.backup.velero.io/timeout: invalid duration "5 minutes"',
    ],
    [
      { 'pre.hook.backup.velero.io/command': 'sync', 'pre.hook.backup.velero.io/container': 'web' },
      'annotation pre.hook.backup.velero.io/container: the pod has no container "web" (it has db, sidecar)',
    ],
  ])('malformed %j names the pod and the annotation', (annotations, message) => {
    const got = backupHooksFor(pod(annotations), 'pre', undefined);
    expect(got.hooks).toEqual([]);
    expect(got.errors).toEqual([expect.stringContaining(`pod shop/db-0: ${message}`)]);
  });
});

describe('backup hooks from the spec', () => {
  const spec: BackupHooks = {
    resources: [
      {
        name: 'freeze',
        includedNamespaces: ['sh*'],
        labelSelector: { matchLabels: { app: 'db' } },
        pre: [
          { exec: { command: ['fsfreeze', '-f', '/data'] } },
          { exec: { container: 'sidecar', command: ['a'], onError: 'Continue', timeout: '2s' } },
        ],
        post: [{ exec: { command: ['fsfreeze', '-u', '/data'] } }],
      },
      { name: 'elsewhere', excludedNamespaces: ['shop'], pre: [{ exec: { command: ['no'] } }] },
      { name: 'not-pods', includedResources: ['deployments.apps'], pre: [{ exec: { command: ['no'] } }] },
      { name: 'pods-by-name', includedResources: ['pods'], pre: [{ exec: { command: ['yes'] } }] },
    ],
  };

  it('selects by namespace, resource and labels, in order, with defaults', () => {
    expect(backupHooksFor(pod(), 'pre', spec)).toEqual({
      hooks: [
        {
          source: 'spec',
          name: 'freeze',
          index: 0,
          container: 'db',
          command: ['fsfreeze', '-f', '/data'],
          onError: 'Fail',
          timeoutMs: 30_000,
        },
        {
          source: 'spec',
          name: 'freeze',
          index: 1,
          container: 'sidecar',
          command: ['a'],
          onError: 'Continue',
          timeoutMs: 2_000,
        },
        {
          source: 'spec',
          name: 'pods-by-name',
          index: 0,
          container: 'db',
          command: ['yes'],
          onError: 'Fail',
          timeoutMs: 30_000,
        },
      ],
      errors: [],
    });
  });

  it('a pod the label selector leaves out gets none of that set', () => {
    expect(backupHooksFor(pod({}, { labels: { app: 'web' } }), 'post', spec)).toEqual({
      hooks: [],
      errors: [],
    });
  });

  it("annotations win: the pod's own hook replaces the spec's for that phase only", () => {
    const p = pod({ 'pre.hook.backup.velero.io/command': 'mine' });
    expect(backupHooksFor(p, 'pre', spec).hooks.map((h) => h.command)).toEqual([['mine']]);
    expect(backupHooksFor(p, 'post', spec).hooks.map((h) => h.name)).toEqual(['freeze']);
  });

  it('a spec hook naming a container the pod lacks is an error naming pod and hook', () => {
    const bad: BackupHooks = {
      resources: [{ name: 'x', pre: [{ exec: { container: 'web', command: ['a'] } }] }],
    };
    expect(backupHooksFor(pod(), 'pre', bad)).toEqual({
      hooks: [],
      errors: ['pod shop/db-0: hook x: the pod has no container "web" (it has db, sidecar)'],
    });
  });
});

describe('restore hooks', () => {
  it("exec from annotations, with Velero's defaults (Continue, 30s, no wait limit)", () => {
    const got = restoreExecHooksFor(
      pod({ 'post.hook.restore.velero.io/command': '["cat","/x"]' }),
      undefined,
    );
    expect(got).toEqual({
      hooks: [
        {
          source: 'annotation',
          name: '<from-annotation>',
          index: 0,
          container: 'db',
          command: ['cat', '/x'],
          onError: 'Continue',
          execTimeoutMs: 30_000,
          waitTimeoutMs: 0,
          waitForReady: false,
        },
      ],
      errors: [],
    });
  });

  it.each([
    ['post.hook.restore.velero.io/wait-for-ready', 'maybe', 'must be true or false'],
    ['post.hook.restore.velero.io/exec-timeout', '0', 'must be a positive duration'],
    ['post.hook.restore.velero.io/wait-timeout', 'soon', 'invalid duration'],
  ])('malformed %s is an error naming the pod', (key, value, message) => {
    const got = restoreExecHooksFor(
      pod({ 'post.hook.restore.velero.io/command': 'x', [key]: value }),
      undefined,
    );
    expect(got.errors).toEqual([expect.stringContaining(`pod shop/db-0: annotation ${key}: ${message}`)]);
  });

  const spec: RestoreHooks = {
    resources: [
      {
        name: 'prepare',
        includedNamespaces: ['shop-restored'],
        postHooks: [
          { init: { initContainers: [{ name: 'seed', image: 'busybox', command: ['sh', '-c', 'true'] }] } },
          { exec: { command: ['ls'], waitForReady: true, waitTimeout: '1m', onError: 'Fail' } },
        ],
      },
    ],
  };

  it('spec hooks select by the namespace the pod is restored into', () => {
    expect(restoreExecHooksFor(pod(), spec).hooks).toEqual([]);
    expect(restoreExecHooksFor(pod(), spec, 'shop-restored').hooks).toEqual([
      {
        source: 'spec',
        name: 'prepare',
        index: 1,
        container: 'db',
        command: ['ls'],
        onError: 'Fail',
        execTimeoutMs: 30_000,
        waitTimeoutMs: 60_000,
        waitForReady: true,
      },
    ]);
    expect(restoreInitContainersFor(pod(), spec, 'shop-restored').hooks).toEqual([
      {
        source: 'spec',
        name: 'prepare',
        container: { name: 'seed', image: 'busybox', command: ['sh', '-c', 'true'] },
      },
    ]);
  });

  it('init container from annotations wins, with a stable default name', () => {
    const p = pod({
      'init.hook.restore.velero.io/container-image': 'busybox',
      'init.hook.restore.velero.io/command': '["sh","-c","echo hi"]',
    });
    expect(restoreInitContainersFor(p, spec, 'shop-restored')).toEqual({
      hooks: [
        {
          source: 'annotation',
          name: '<from-annotation>',
          container: { name: 'restore-init', image: 'busybox', command: ['sh', '-c', 'echo hi'] },
        },
      ],
      errors: [],
    });
  });
});
