import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveKubeconfig } from './kubeconfig.js';

const CA = '-----BEGIN CERTIFICATE-----\nnot really a certificate\n-----END CERTIFICATE-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: main
clusters:
  - name: main
    cluster: { server: 'https://127.0.0.1:6443', certificate-authority-data: ${b64(CA)} }
  - name: other
    cluster: { server: 'https://10.0.0.1:443', insecure-skip-tls-verify: true }
users:
  - name: alice
    user: { token: alice-token }
  - name: bob
    user: { username: bob, password: secret }
contexts:
  - name: main
    context: { cluster: main, user: alice }
  - name: other
    context: { cluster: other, user: bob }
`;

const NO_CONTEXT = `apiVersion: v1
kind: Config
clusters: []
users: []
contexts: []
`;

describe('resolveKubeconfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-kubeconfig-'));
    await writeFile(join(dir, 'config'), KUBECONFIG);
    await writeFile(join(dir, 'empty'), NO_CONTEXT);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the current context’s server, CA (as a Buffer) and bearer token', async () => {
    const { server, options } = await resolveKubeconfig({ kubeconfig: join(dir, 'config') });
    expect(server).toBe('https://127.0.0.1:6443');
    expect(Buffer.isBuffer(options.ca)).toBe(true);
    expect(String(options.ca)).toBe(CA);
    expect(options.headers).toMatchObject({ Authorization: 'Bearer alice-token' });
    expect(options).not.toHaveProperty('agent');
  });

  it('switches to the context asked for', async () => {
    const { server, options } = await resolveKubeconfig({
      kubeconfig: join(dir, 'config'),
      context: 'other',
    });
    expect(server).toBe('https://10.0.0.1:443');
    expect(options.rejectUnauthorized).toBe(false);
    expect(options.auth).toBe('bob:secret');
  });

  it('names a context the kubeconfig does not have', async () => {
    await expect(resolveKubeconfig({ kubeconfig: join(dir, 'config'), context: 'nope' })).rejects.toThrow(
      'kubeconfig has no context "nope"',
    );
  });

  it('says when the kubeconfig cannot be read', async () => {
    const missing = join(dir, 'missing');
    await expect(resolveKubeconfig({ kubeconfig: missing })).rejects.toThrow(
      `cannot read kubeconfig ${missing}: `,
    );
  });

  it('says when there is no current cluster', async () => {
    await expect(resolveKubeconfig({ kubeconfig: join(dir, 'empty') })).rejects.toThrow(
      'kubeconfig has no current cluster (set --kubeconfig or --context)',
    );
  });

  it('refuses to fall back to localhost when there is no kubeconfig at all', async () => {
    const names = ['HOME', 'KUBECONFIG', 'KUBERNETES_SERVICE_HOST'] as const;
    const saved = names.map((n) => process.env[n]);
    try {
      process.env.HOME = dir; // no .kube/config under it
      delete process.env.KUBECONFIG;
      delete process.env.KUBERNETES_SERVICE_HOST;
      await expect(resolveKubeconfig()).rejects.toThrow(
        'no kubeconfig: set --kubeconfig or $KUBECONFIG, or create ~/.kube/config',
      );
    } finally {
      names.forEach((n, i) => {
        const value = saved[i];
        if (value === undefined) delete process.env[n];
        else process.env[n] = value;
      });
    }
  });

  it('reads $KUBECONFIG when no file is given', async () => {
    const saved = process.env.KUBECONFIG;
    try {
      process.env.KUBECONFIG = join(dir, 'config');
      await expect(resolveKubeconfig()).resolves.toMatchObject({ server: 'https://127.0.0.1:6443' });
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});
