// Proof that the ground's node is real: pods of a Deployment run in containerd, `exec` reaches
// them with stdin, stdout and the exit code, `logs` works, and the lifeboat image (the
// Dockerfile's files) runs the CLI. All through the apiserver, with the client the product uses.
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppsV1Api, CoreV1Api, Exec, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { ground, kubeConfig, newNamespace } from './ground/world.js';
import { eventually } from './fixtures/pods.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function node(): NonNullable<ReturnType<typeof ground>['node']> {
  const n = ground().node;
  if (!n) throw new Error('the test ground has no node: global-setup.ts must start it with node: true');
  return n;
}

function describePod(p: V1Pod): string {
  const waiting = p.status?.containerStatuses?.map(
    (c) => c.state?.waiting?.message ?? c.state?.waiting?.reason,
  );
  return `${p.metadata?.name}: phase ${p.status?.phase}, ${JSON.stringify(waiting ?? p.status?.conditions)}`;
}

async function runningPodOf(namespace: string, selector: string): Promise<V1Pod> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let seen = '';
  return eventually(async () => {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
    seen = pods.items.map(describePod).join('; ');
    return pods.items.find((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready);
  }, `a running pod (${selector})`).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; pods: ${seen}`);
  });
}

/** Run `command` in the pod with `stdin`; resolves with stdout, stderr and the exit code. */
async function exec(
  namespace: string,
  pod: string,
  command: string[],
  stdin: string,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on('data', (c: Buffer) => chunks.out.push(c));
  stderr.on('data', (c: Buffer) => chunks.err.push(c));
  const status = await new Promise<V1Status>((resolve, reject) => {
    new Exec(kubeConfig())
      .exec(namespace, pod, 'main', command, stdout, stderr, Readable.from([stdin]), false, resolve)
      .catch(reject);
  });
  let exitCode = 0;
  if (status.status !== 'Success') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    if (!cause?.message) throw new Error(`exec failed: ${JSON.stringify(status)}`);
    exitCode = Number(cause.message);
  }
  return {
    stdout: Buffer.concat(chunks.out).toString('utf8'),
    stderr: Buffer.concat(chunks.err).toString('utf8'),
    exitCode,
  };
}

describe('the ground node', () => {
  it('runs the pod of a Deployment, whose logs and exec work', async () => {
    const { images } = node();
    const namespace = await newNamespace('node');
    const kc = kubeConfig();
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'shell' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'shell' } },
          template: {
            metadata: { labels: { app: 'shell' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'main',
                  image: images.busybox,
                  imagePullPolicy: 'Never',
                  command: ['sh', '-c', 'echo "started in $(hostname)"; exec sleep 3600'],
                },
              ],
            },
          },
        },
      },
    });
    const pod = await runningPodOf(namespace, 'app=shell');
    const name = pod.metadata?.name ?? '';
    expect(pod.spec?.nodeName).toBe(node().name);

    const logs = await eventually(async () => {
      const text = await kc
        .makeApiClient(CoreV1Api)
        .readNamespacedPodLog({ namespace, name, container: 'main' });
      return text.includes('started') ? text : undefined;
    }, 'the pod log');
    expect(logs.trim()).toBe(`started in ${name}`);

    const ok = await exec(
      namespace,
      name,
      ['sh', '-c', 'read line; echo "got $line"; echo oops >&2'],
      'hello\n',
    );
    expect(ok).toEqual({ stdout: 'got hello\n', stderr: 'oops\n', exitCode: 0 });

    const failed = await exec(namespace, name, ['sh', '-c', 'read line; echo "$line"; exit 7'], 'bye\n');
    expect(failed).toEqual({ stdout: 'bye\n', stderr: '', exitCode: 7 });
  });

  it('runs the lifeboat image: `lifeboat --version` prints the package version', async () => {
    const { images } = node();
    const namespace = await newNamespace('node');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'version' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            { name: 'main', image: images.lifeboat, imagePullPolicy: 'Never', args: ['--version'] },
          ],
        },
      },
    });
    let seen = '';
    const phase = await eventually(async () => {
      const p = await core.readNamespacedPod({ namespace, name: 'version' });
      seen = describePod(p);
      const ph = p.status?.phase;
      return ph === 'Succeeded' || ph === 'Failed' ? ph : undefined;
    }, 'the lifeboat pod to finish').catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; ${seen}`);
    });
    const logs = await core.readNamespacedPodLog({ namespace, name: 'version', container: 'main' });
    expect({ phase, logs: logs.trim() }).toEqual({ phase: 'Succeeded', logs: pkg.version });
  });
});
