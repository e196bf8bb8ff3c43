// The node agent hears of new work through a watch, not only at its next poll: with a poll of
// an hour, a PodVolumeBackup made while the agent waits is still taken (here it fails at once,
// its pod being gone, and says so in its status).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../src/kube/client.js';
import { createLogger } from '../src/observe/logger.js';
import { NodeAgent } from '../src/volumes/agent.js';
import { NODE_LABEL, POD_VOLUME_BACKUP, type PodVolumeBackup } from '../src/volumes/pod-volume-types.js';
import { resticBinary } from './ground/restic.js';
import { ground, newNamespace } from './ground/world.js';
import { until } from './fixtures/pods.js';

describe('the node agent takes new work as it appears', () => {
  let kube: KubeClient;
  let namespace: string;
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  let lists = 0;

  beforeAll(async () => {
    kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
    namespace = await newNamespace('watch');
    // Counts the agent's lists, to know when it has looked for work and waits.
    const list = kube.list.bind(kube);
    kube.list = async (...args: Parameters<KubeClient['list']>) => {
      const page = await list(...args);
      lists++;
      return page;
    };
  });

  afterAll(async () => {
    controller.abort();
    await running;
    kube?.close();
  });

  it('takes a PodVolumeBackup made while it waits out an hour-long poll', async () => {
    const node = ground().node;
    if (!node) throw new Error('the test ground has no node: global-setup must start it with node: true');
    const agent = new NodeAgent({
      kube,
      node: node.name,
      namespace,
      kubeletRootDir: node.kubeletRootDir,
      restic: { binary: resticBinary() },
      log: createLogger({ level: 'silent' }),
      pollMs: 3_600_000,
    });
    running = agent.run(controller.signal);
    // Two lists when it starts (work left InProgress), two more looking for new work: then it
    // waits for the poll or the watch.
    await until(() => Promise.resolve(lists >= 4 ? true : undefined), 'the agent to look for work', 120_000);
    const listsBefore = lists;
    await kube.create(POD_VOLUME_BACKUP, {
      apiVersion: 'lifeboat.dev/v1alpha1',
      kind: 'PodVolumeBackup',
      metadata: { name: 'b', namespace, labels: { [NODE_LABEL]: node.name } },
      spec: {
        node: node.name,
        pod: { namespace, name: 'gone', uid: '00000000-0000-0000-0000-000000000000' },
        volume: 'data',
        backupName: 'b',
        repository: {
          volumeNamespace: namespace,
          bucket: 'none',
          passwordSecret: { namespace, name: 'restic', key: 'password' },
        },
      },
    });
    const done = await until(
      async () => {
        const obj = (await kube.get(POD_VOLUME_BACKUP, namespace, 'b')) as PodVolumeBackup | null;
        return obj?.status?.phase === 'Failed' ? obj : undefined;
      },
      'the agent to take the PodVolumeBackup',
      120_000,
    );
    expect(done.status?.message).toContain(`volume data of pod ${namespace}/gone`);
    expect(lists).toBeGreaterThan(listsBefore);
  }, 300_000);
});
