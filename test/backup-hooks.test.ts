// Backup hooks on the ground's node: pre and post hooks from pod annotations and from
// spec.hooks run in the pods through exec, around the listing for pods without captured
// volumes; Fail, Continue and a hanging hook end as Velero's do; what each hook did is in the
// backup's log in the bucket, and nothing of its output is in the result (which reaches Git).
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../src/backup/engine.js';
import type { BackupSpec } from '../src/backup/spec.js';
import type { KubeClient } from '../src/kube/client.js';
import { backupLayout } from '../src/storage/layout.js';
import { readSmallObject, type BackupStore } from '../src/storage/store.js';
import { archiveEntries, groundKube, localStore } from './fixtures/backups.js';
import { busyboxContainer, startPod } from './fixtures/pods.js';
import { newNamespace, uniqueName } from './ground/world.js';

let kube: KubeClient;
let store: BackupStore;

beforeAll(async () => {
  kube = await groundKube();
  store = await localStore('hooks-');
});
afterAll(() => kube?.close());

/** A pod with an emptyDir at /data and the given annotations. */
async function hookedPod(
  namespace: string,
  name: string,
  annotations: Record<string, string>,
): Promise<void> {
  await startPod(namespace, {
    metadata: { name, annotations, labels: { app: name } },
    spec: {
      containers: [{ ...busyboxContainer('main'), volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  });
}

async function backup(spec: BackupSpec): Promise<{ result: BackupResult; log: string }> {
  const name = uniqueName('hooks');
  const result = await runBackup({ name, spec }, { kube, store });
  const log = gunzipSync(await readSmallObject(store, backupLayout.log(name))).toString('utf8');
  return { result, log };
}

async function cat(namespace: string, pod: string, path: string): Promise<string> {
  const r = await kube.exec({ namespace, pod, container: 'main', command: ['cat', path], timeoutMs: 60_000 });
  return r.exitCode === 0 ? r.stdout : `<missing: ${r.stderr.trim()}>`;
}

function logLines(log: string, pattern: string): string[] {
  return log.split('\n').filter((l) => l.includes(pattern));
}

describe('backup hooks', () => {
  it('pre writes a marker and post removes it, around the listing; both are in the log', async () => {
    const namespace = await newNamespace('hooks');
    await hookedPod(namespace, 'db', {
      'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo frozen > /data/marker; sync; echo froze"]',
      'post.hook.backup.velero.io/command':
        '["/bin/sh","-c","cat /data/marker > /data/seen-by-post; rm /data/marker"]',
    });
    const { result, log } = await backup({ includedNamespaces: [namespace] });

    expect(result.phase).toBe('Completed');
    expect(result.hooks?.map((h) => [h.phase, h.pod, h.container, h.exitCode, h.failed])).toEqual([
      ['pre', `${namespace}/db`, 'main', 0, false],
      ['post', `${namespace}/db`, 'main', 0, false],
    ]);
    // The post hook saw the marker the pre hook wrote, and removed it.
    expect(await cat(namespace, 'db', '/data/seen-by-post')).toBe('frozen\n');
    expect(await cat(namespace, 'db', '/data/marker')).toMatch(/^<missing/);
    // In the log, in order: the pre hook (with its output), the listing, the post hook, the end.
    const pre = log.indexOf('msg="pre hook ran"');
    const post = log.indexOf('msg="post hook ran"');
    const done = log.indexOf('msg="backup Completed"');
    expect(pre).toBeGreaterThan(-1);
    expect(pre).toBeLessThan(post);
    expect(post).toBeLessThan(done);
    expect(logLines(log, 'pre hook ran')[0]).toContain('stdout="froze\\n"');
    // The pod itself is in the archive, listed between the hooks.
    const { items } = await archiveEntries(store, result.name);
    expect(
      items.some((i) => i.groupResource === 'pods' && i.name === 'db' && i.namespace === namespace),
    ).toBe(true);
  });

  it('a failing Fail hook fails the pod with its exit code; stderr is in the log only; no post hook', async () => {
    const namespace = await newNamespace('hooks');
    await hookedPod(namespace, 'db', {
      'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo cannot-freeze-$((40+2)) >&2; exit 3"]',
      'pre.hook.backup.velero.io/on-error': 'Fail',
      'post.hook.backup.velero.io/command': '["/bin/sh","-c","touch /data/post-ran"]',
    });
    const { result, log } = await backup({ includedNamespaces: [namespace] });

    expect(result.phase).toBe('PartiallyFailed');
    expect(result.errors).toEqual([
      {
        namespace,
        resource: 'pods',
        name: 'db',
        message: 'pre hook <from-annotation> in container main failed: exit code 3',
      },
    ]);
    // The output (computed in the pod, so not in the command) is in the log, not the result.
    expect(logLines(log, 'pre hook failed')[0]).toContain('stderr="cannot-freeze-42\\n"');
    expect(JSON.stringify(result)).not.toContain('cannot-freeze-42');
    expect(await cat(namespace, 'db', '/data/post-ran')).toMatch(/^<missing/);
  });

  it('a failing Continue hook is a warning; the backup completes and post hooks run', async () => {
    const namespace = await newNamespace('hooks');
    await hookedPod(namespace, 'db', {
      'pre.hook.backup.velero.io/command': '["/bin/sh","-c","exit 1"]',
      'pre.hook.backup.velero.io/on-error': 'Continue',
      'post.hook.backup.velero.io/command': '["/bin/sh","-c","touch /data/post-ran"]',
    });
    const { result } = await backup({ includedNamespaces: [namespace] });

    expect(result.phase).toBe('Completed');
    expect(result.warnings).toContain(
      `pod ${namespace}/db: pre hook <from-annotation> in container main failed: exit code 1 (onError: Continue)`,
    );
    expect(await cat(namespace, 'db', '/data/post-ran')).toBe('');
  });

  it('a hook that hangs is stopped at its timeout and the backup goes on as onError says', async () => {
    const namespace = await newNamespace('hooks');
    await hookedPod(namespace, 'db', {
      'pre.hook.backup.velero.io/command': '["sleep","600"]',
      'pre.hook.backup.velero.io/timeout': '3s',
      'pre.hook.backup.velero.io/on-error': 'Continue',
    });
    await hookedPod(namespace, 'cache', {
      'pre.hook.backup.velero.io/command': '["sleep","600"]',
      'pre.hook.backup.velero.io/timeout': '3s',
    });
    const { result, log } = await backup({ includedNamespaces: [namespace] });

    expect(result.phase).toBe('PartiallyFailed');
    expect(result.hooks?.map((h) => [h.pod, h.timedOut, h.reason])).toEqual([
      [`${namespace}/cache`, true, 'timed out after 3s and was abandoned'],
      [`${namespace}/db`, true, 'timed out after 3s and was abandoned'],
    ]);
    expect(result.errors.map((e) => e.name)).toEqual(['cache']);
    expect(result.warnings.filter((w) => w.includes('timed out'))).toHaveLength(1);
    expect(logLines(log, 'timedOut=true')).toHaveLength(2);
  });

  it('spec.hooks select pods by label; a malformed annotation fails its pod, naming it', async () => {
    const namespace = await newNamespace('hooks');
    await hookedPod(namespace, 'web', {});
    await hookedPod(namespace, 'db', {
      'pre.hook.backup.velero.io/command': 'sync',
      'pre.hook.backup.velero.io/timeout': 'soon',
    });
    const { result } = await backup({
      includedNamespaces: [namespace],
      hooks: {
        resources: [
          {
            name: 'mark',
            labelSelector: { matchLabels: { app: 'web' } },
            pre: [{ exec: { command: ['touch', '/data/spec-pre'] } }],
            post: [{ exec: { command: ['touch', '/data/spec-post'], onError: 'Continue' } }],
          },
        ],
      },
    });

    expect(result.phase).toBe('PartiallyFailed');
    expect(result.errors).toEqual([
      {
        namespace,
        resource: 'pods',
        name: 'db',
        message: expect.stringContaining(
          `pod ${namespace}/db: annotation pre.hook.backup.velero.io/timeout: invalid duration "soon"`,
        ) as string,
      },
    ]);
    expect(result.hooks?.map((h) => [h.phase, h.pod, h.hook])).toEqual([
      ['pre', `${namespace}/web`, 'mark'],
      ['post', `${namespace}/web`, 'mark'],
    ]);
    expect(await cat(namespace, 'web', '/data/spec-post')).toBe('');
    // Velero's Backup object carries the spec's hooks, so Velero reads them back.
    expect(result.metadata.spec.hooks).toMatchObject({ resources: [{ name: 'mark' }] });
  });
});
