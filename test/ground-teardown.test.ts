// A ground with a node gives everything back when stopped: a second ground (beside the one of
// global-setup, so two nodes run at once) runs a pod, stops, and leaves no process, mount,
// network link or cgroup; then another one starts right after and stops clean as well.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startGround } from './ground/ground.js';
import { bridgePorts, cgroupPids, leftovers, mountsUnder } from './ground/host-resources.js';

async function runPod(kubeconfigPath: string, image: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'sleeper' },
      spec: {
        terminationGracePeriodSeconds: 30,
        containers: [
          // An emptyDir and the service-account token give the pod volume mounts to clean up.
          {
            name: 'main',
            image,
            imagePullPolicy: 'Never',
            command: ['sleep', '3600'],
            volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
          },
        ],
        volumes: [{ name: 'scratch', emptyDir: { medium: 'Memory' } }],
      },
    },
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const pod = await core.readNamespacedPod({ namespace: 'default', name: 'sleeper' });
    if (pod.status?.phase === 'Running') return;
    if (Date.now() > deadline) throw new Error(`pod not running: ${JSON.stringify(pod.status)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('stopping a ground with a node', () => {
  it('leaves nothing behind, and the next ground starts right after', async () => {
    for (let round = 1; round <= 2; round++) {
      const ground = await startGround({ node: true });
      const dir = dirname(ground.info.kubeconfigPath);
      const node = ground.info.node;
      try {
        if (!node) throw new Error('startGround({ node: true }) returned no node');
        await runPod(ground.info.kubeconfigPath, node.images.busybox);
        // There is something to clean up: a veth on the bridge, mounts, processes in the cgroup.
        expect((await bridgePorts(node.bridge)).length, 'veths on the bridge').toBe(1);
        expect((await mountsUnder(join(dir, 'node'))).length, 'mounts below the node').toBeGreaterThan(2);
        expect((await cgroupPids(node.cgroupRoot)).length, 'processes in the cgroup').toBeGreaterThan(2);
      } finally {
        await ground.stop();
      }
      if (!node) return;
      expect(
        await leftovers({ dir, bridge: node.bridge, cgroupRoot: node.cgroupRoot }),
        `round ${round}: left on the machine`,
      ).toEqual([]);
      expect(existsSync(dir), `round ${round}: ${dir} removed`).toBe(false);
    }
  });
});
