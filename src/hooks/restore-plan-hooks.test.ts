// Restore hooks in the plan: init containers are added to the pod the restore writes, every
// hook is listed (container, command; Secret-backed env never shown), and the plan hash moves
// when a hook changes.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { buildPlan, prepareDesiredObject, type PlanInput } from '../restore/plan.js';
import type { RestoreSpec } from '../restore/spec.js';

function archivedPod(annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', namespace: 'shop', labels: { app: 'db' }, annotations, uid: 'old' },
    spec: {
      nodeName: 'old-node',
      initContainers: [{ name: 'own-init', image: 'busybox', command: ['true'] }],
      containers: [{ name: 'db', image: 'busybox', command: ['sleep', '1d'] }],
    },
  };
}

function plan(pod: KubeObject, spec: RestoreSpec): ReturnType<typeof buildPlan> {
  const prepared = prepareDesiredObject(pod, {
    groupResource: 'pods',
    spec,
    backupName: 'b-1',
    restoreName: 'r-1',
    restoreStatus: false,
  });
  if (prepared.desired === null) throw new Error(JSON.stringify(prepared));
  const desired = prepared.desired;
  const input: PlanInput = {
    restoreName: 'r-1',
    backupName: 'b-1',
    backupSha256: 'sha256:abc',
    spec,
    items: [
      {
        groupResource: 'pods',
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: desired.metadata.namespace ?? '',
        name: 'db-0',
        desired,
        live: null,
      },
    ],
  };
  return buildPlan(input);
}

const specHooks: RestoreSpec = {
  namespaceMapping: { shop: 'shop-2' },
  hooks: {
    resources: [
      {
        name: 'prepare',
        includedNamespaces: ['shop-2'],
        postHooks: [
          {
            init: {
              initContainers: [
                {
                  name: 'seed',
                  image: 'busybox',
                  command: ['sh', '-c', 'echo $PASSWORD > /dev/null'],
                  env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
                },
              ],
            },
          },
          { exec: { command: ['sh', '-c', 'test -f /ready'], waitForReady: true, onError: 'Fail' } },
        ],
      },
    ],
  },
};

describe('restore hooks in the plan', () => {
  it("adds spec init containers before the pod's own, selected in the target namespace", () => {
    const prepared = prepareDesiredObject(archivedPod(), {
      groupResource: 'pods',
      spec: specHooks,
      backupName: 'b-1',
      restoreName: 'r-1',
      restoreStatus: false,
    });
    expect(prepared.desired?.metadata.namespace).toBe('shop-2');
    const spec = prepared.desired?.spec as { initContainers: { name: string }[] };
    expect(spec.initContainers.map((c) => c.name)).toEqual(['seed', 'own-init']);
    expect(prepared.desired && 'applied' in prepared ? prepared.applied : []).toContain(
      'init hook containers seed added',
    );
  });

  it('lists every hook with container and command, never env values', () => {
    const [item] = plan(archivedPod(), specHooks).items;
    expect(item?.hooks).toEqual([
      {
        type: 'init',
        hook: 'prepare',
        container: 'seed',
        image: 'busybox',
        command: ['sh', '-c', 'echo $PASSWORD > /dev/null'],
      },
      {
        type: 'exec',
        hook: 'prepare',
        container: 'db',
        command: ['sh', '-c', 'test -f /ready'],
        onError: 'Fail',
        execTimeoutMs: 30_000,
        waitTimeoutMs: 0,
        waitForReady: true,
      },
    ]);
  });

  it('annotations win over the spec', () => {
    const pod = archivedPod({
      'post.hook.restore.velero.io/command': '["cat","/etc/hostname"]',
      'init.hook.restore.velero.io/container-image': 'busybox',
      'init.hook.restore.velero.io/container-name': 'warm',
      'init.hook.restore.velero.io/command': '["true"]',
    });
    expect(plan(pod, specHooks).items[0]?.hooks?.map((h) => [h.type, h.hook, h.container])).toEqual([
      ['init', '<from-annotation>', 'warm'],
      ['exec', '<from-annotation>', 'db'],
    ]);
  });

  it('the plan hash moves when a hook command changes', () => {
    const changed: RestoreSpec = structuredClone(specHooks);
    const exec = changed.hooks?.resources?.[0]?.postHooks?.[1];
    if (exec && 'exec' in exec) exec.exec.command = ['sh', '-c', 'rm -rf /data'];
    expect(plan(archivedPod(), changed).hash).not.toBe(plan(archivedPod(), specHooks).hash);
    const annotated = (cmd: string) => archivedPod({ 'post.hook.restore.velero.io/command': cmd });
    expect(plan(annotated('a'), {}).hash).not.toBe(plan(annotated('b'), {}).hash);
  });

  it('a malformed restore hook annotation makes the pod invalid, naming it', () => {
    const prepared = prepareDesiredObject(
      archivedPod({
        'init.hook.restore.velero.io/container-image': 'busybox',
        'init.hook.restore.velero.io/command': '[oops',
      }),
      {
        groupResource: 'pods',
        spec: {},
        backupName: 'b-1',
        restoreName: 'r-1',
        restoreStatus: false,
      },
    );
    expect(prepared).toEqual({
      desired: null,
      invalidReason: expect.stringContaining(
        'pod shop/db-0: annotation init.hook.restore.velero.io/command: not a JSON list',
      ) as string,
    });
  });

  it('a malformed exec hook annotation is a warning on the pod in the plan', () => {
    const [item] = plan(
      archivedPod({
        'post.hook.restore.velero.io/command': 'ls',
        'post.hook.restore.velero.io/wait-for-ready': 'maybe',
      }),
      {},
    ).items;
    expect(item?.hooks).toBeUndefined();
    expect(item?.warnings).toEqual([
      'pod shop/db-0: annotation post.hook.restore.velero.io/wait-for-ready: must be true or false, not "maybe"',
    ]);
  });
});
