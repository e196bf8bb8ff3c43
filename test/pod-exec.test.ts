// KubeClient.exec on the ground's node: a command runs in the named container through the
// apiserver's exec subresource, with its output, exit code and duration; a command that hangs
// is abandoned at its timeout; a missing container is an API error naming it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, type KubeClient } from '../src/kube/client.js';
import { groundKube } from './fixtures/backups.js';
import { busyboxContainer, startPod } from './fixtures/pods.js';
import { newNamespace } from './ground/world.js';

describe('pod exec', () => {
  let kube: KubeClient;
  let namespace: string;
  beforeAll(async () => {
    kube = await groundKube();
    namespace = await newNamespace('exec');
    await startPod(namespace, {
      metadata: { name: 'shell' },
      spec: { containers: [busyboxContainer('main'), busyboxContainer('side', 'echo side > /tmp/who')] },
    });
  });
  afterAll(() => kube.close());

  const run = (
    container: string,
    command: string[],
    more: { timeoutMs?: number; maxOutputBytes?: number } = {},
  ) =>
    kube.exec({ namespace, pod: 'shell', container, command, timeoutMs: more.timeoutMs ?? 60_000, ...more });

  it('returns stdout, stderr and exit code 0', async () => {
    const r = await run('main', ['sh', '-c', 'echo out; echo err >&2']);
    expect(r).toMatchObject({
      exitCode: 0,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
      stdoutDropped: 0,
    });
    expect(r.failure).toBeUndefined();
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('runs in the container it names', async () => {
    expect((await run('side', ['cat', '/tmp/who'])).stdout).toBe('side\n');
  });

  it('returns a non-zero exit code', async () => {
    expect(await run('main', ['sh', '-c', 'echo broken >&2; exit 7'])).toMatchObject({
      exitCode: 7,
      stderr: 'broken\n',
      timedOut: false,
    });
  });

  it('keeps only the first bytes of a large output and counts the rest', async () => {
    const r = await run('main', ['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" x'], {
      maxOutputBytes: 1000,
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'x'.repeat(1000), stdoutDropped: 99_000 });
  });

  it('abandons a command that outlives its timeout', async () => {
    const r = await run('main', ['sleep', '600'], { timeoutMs: 3_000 });
    expect(r).toMatchObject({ timedOut: true, exitCode: undefined });
  });

  it('a command that does not exist fails with the runtime message', async () => {
    const r = await run('main', ['/no/such/binary']);
    expect(r.exitCode === undefined ? r.failure : `exit ${r.exitCode}`).toMatch(/no such file|exit 1\d\d/);
  });

  it('a missing container is an API error naming it', async () => {
    const err = await run('nope', ['true']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).message).toContain('nope');
  });
});
