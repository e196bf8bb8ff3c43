// KubeClient.createOnly does not read the answer of a create that works; one that the API
// server refuses must still tell why: its reason, message and the fields at fault, for built-in
// kinds and for custom resources alike.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient } from '../src/kube/client.js';
import type { ResourceInfo } from '../src/kube/types.js';
import { discoverResources } from '../src/backup/discover.js';
import { configMap, createCustomType, customObject, namespace, type CustomType } from './fixtures/seed.js';
import { ground } from './ground/world.js';

const suffix = randomBytes(3).toString('hex');
const ns = `create-only-${suffix}`;
const widget: CustomType = { group: `create-only-${suffix}.lifeboat.dev`, kind: 'Widget', plural: 'widgets' };

async function refusal(p: Promise<unknown>): Promise<KubeApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof KubeApiError)) throw new Error(`expected a KubeApiError, got ${String(err)}`);
  return err;
}

describe('createOnly', () => {
  let kube: KubeClient;
  let infos: Map<string, ResourceInfo>;
  // Keyed by group and resource: other test files on the shared ground serve `widgets` too, in
  // groups of their own.
  const byGroupResource = (rs: ResourceInfo[]): Map<string, ResourceInfo> =>
    new Map(rs.map((r) => [`${r.group}/${r.resource}`, r]));
  const info = (resource: string, group = ''): ResourceInfo => {
    const found = infos.get(`${group}/${resource}`);
    if (!found) throw new Error(`the ground serves no ${resource} in group "${group}"`);
    return found;
  };

  beforeAll(async () => {
    kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
    infos = byGroupResource(await discoverResources(kube));
    if (!infos.has('/namespaces')) throw new Error('no namespaces resource');
    if ((await kube.get(info('namespaces'), '', ns)) === null) {
      await kube.createOnly(info('namespaces'), namespace(ns));
    }
    if (!infos.has(`${widget.group}/${widget.plural}`)) {
      await createCustomType(kube, widget);
      infos = byGroupResource(await discoverResources(kube));
    }
  });
  afterAll(() => kube.close());

  it('creates a built-in object, and a second create of it fails AlreadyExists with the API message', async () => {
    const name = 'cm-1';
    await kube.createOnly(info('configmaps'), configMap({ namespace: ns, name, data: { a: '1' } }));
    const created = await kube.get(info('configmaps'), ns, name);
    expect((created as { data?: unknown } | null)?.data).toEqual({ a: '1' });

    const err = await refusal(kube.createOnly(info('configmaps'), configMap({ namespace: ns, name })));
    expect(err.status).toBe(409);
    expect(err.reason).toBe('AlreadyExists');
    expect(err.message).toBe(`configmaps "${name}" already exists`);
    expect(err.details).toMatchObject({ name, kind: 'configmaps' });
  });

  it('sends bodies whose characters take several bytes whole (the request length is in bytes)', async () => {
    // Requests carry a Content-Length; counted in characters, these bodies would be cut short.
    const data = { text: 'Grüße, ünïcödé – 東京 🚀'.repeat(50) };
    await kube.createOnly(info('configmaps'), configMap({ namespace: ns, name: 'cm-utf8', data }));
    expect(((await kube.get(info('configmaps'), ns, 'cm-utf8')) as { data?: unknown } | null)?.data).toEqual(
      data,
    );
    const changed = { text: `${data.text} ✓` };
    await kube.apply(info('configmaps'), configMap({ namespace: ns, name: 'cm-utf8', data: changed }), {
      fieldManager: 'create-only-test',
      force: true,
    });
    expect(((await kube.get(info('configmaps'), ns, 'cm-utf8')) as { data?: unknown } | null)?.data).toEqual(
      changed,
    );
  });

  it('names the field of an invalid object', async () => {
    const err = await refusal(
      kube.createOnly(info('configmaps'), configMap({ namespace: ns, name: 'Not_A_Valid_Name' })),
    );
    expect(err.status).toBe(422);
    expect(err.reason).toBe('Invalid');
    expect(err.message).toContain('ConfigMap "Not_A_Valid_Name" is invalid');
    const causes = (err.details as { causes?: { field?: string; reason?: string }[] }).causes ?? [];
    expect(causes.map((c) => c.field)).toContain('metadata.name');
  });

  it('creates a custom resource and reports its AlreadyExists', async () => {
    const name = 'w-1';
    const obj = customObject(widget, { namespace: ns, name, spec: { size: 3 } });
    await kube.createOnly(info(widget.plural, widget.group), obj);
    expect(await kube.get(info(widget.plural, widget.group), ns, name)).toMatchObject({ spec: { size: 3 } });
    const err = await refusal(kube.createOnly(info(widget.plural, widget.group), obj));
    expect(err.status).toBe(409);
    expect(err.reason).toBe('AlreadyExists');
    expect(err.message).toContain(`"${name}" already exists`);
  });
});
