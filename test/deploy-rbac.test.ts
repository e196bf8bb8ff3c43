// What lifeboat's service account may do once deploy/ is applied, asked of a real
// kube-apiserver with SubjectAccessReviews (what `kubectl auth can-i --as` sends): by default
// it reads and takes its Lease, and writes nothing; with the deploy/restore component it
// writes the kinds a restore creates, but still cannot mint tokens, exec into pods, or grant
// itself more (escalate, bind, impersonate). A ClusterRole labelled for aggregation adds a
// custom resource group, as deploy/README.md tells users to do.
//
// The manifests are applied for real (a SubjectAccessReview consults stored RBAC), into a
// unique namespace, with every cluster-scoped name and the aggregation label made unique, so
// parallel runs and deploy-manifests.test.ts do not see each other's roles.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { discoverResources } from '../src/backup/discover.js';
import { KubeClient, resourcePath } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { apiVersionOf } from '../src/kube/types.js';
import { ground, uniqueName } from './ground/world.js';

const deployDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'deploy');
const AGGREGATE_LABEL = 'lifeboat.dev/aggregate-to-restore';

interface Access {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

let kube: KubeClient;
let resources: ResourceInfo[];
let namespace: string;
let suffix: string;
const applied: { info: ResourceInfo; object: KubeObject }[] = [];

async function kustomizationResources(dir: string): Promise<string[]> {
  const k = parseYaml(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as { resources?: string[] };
  return k.resources ?? [];
}

async function documents(file: string): Promise<KubeObject[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'), { version: '1.1' });
  return docs.map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null);
}

function infoOf(object: KubeObject): ResourceInfo {
  const info = resources.find((r) => apiVersionOf(r) === object.apiVersion && r.kind === object.kind);
  if (info === undefined) throw new Error(`the apiserver serves no ${object.apiVersion} ${object.kind}`);
  return info;
}

/** The object as this test applies it: its own namespace, unique cluster-scoped names and label. */
function isolated(object: KubeObject, info: ResourceInfo): KubeObject {
  const copy = structuredClone(object);
  if (copy.kind === 'Namespace') copy.metadata.name = namespace;
  else if (info.namespaced) copy.metadata.namespace = namespace;
  else copy.metadata.name = `${copy.metadata.name}-${suffix}`;
  const roleRef = copy.roleRef as { kind: string; name: string } | undefined;
  if (roleRef?.kind === 'ClusterRole') roleRef.name = `${roleRef.name}-${suffix}`;
  for (const subject of (copy.subjects as { kind: string; namespace?: string }[] | undefined) ?? []) {
    if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
  }
  if (copy.metadata.labels?.[AGGREGATE_LABEL] !== undefined) copy.metadata.labels[AGGREGATE_LABEL] = suffix;
  const selectors = (
    copy.aggregationRule as { clusterRoleSelectors?: { matchLabels?: Record<string, string> }[] }
  )?.clusterRoleSelectors;
  for (const selector of selectors ?? []) {
    if (selector.matchLabels?.[AGGREGATE_LABEL] !== undefined) selector.matchLabels[AGGREGATE_LABEL] = suffix;
  }
  return copy;
}

/** Apply the RBAC-relevant objects (no Deployment) of the files a kustomization lists. */
async function applyDir(dir: string): Promise<void> {
  for (const file of await kustomizationResources(dir)) {
    for (const object of await documents(join(dir, file))) {
      // Workloads are not what this checks; CRDs cannot take the test's suffix (their name is
      // plural.group) and the ground installs lifeboat's own (test/ground/ground.ts).
      if (['Deployment', 'DaemonSet', 'CustomResourceDefinition'].includes(object.kind)) continue;
      const info = infoOf(object);
      const target = isolated(object, info);
      await kube.request({
        method: 'PATCH',
        path: resourcePath(info, { namespace: target.metadata.namespace, name: target.metadata.name }),
        query: { fieldManager: 'lifeboat-deploy-rbac-test', force: 'true', fieldValidation: 'Strict' },
        body: target,
        contentType: 'application/apply-patch+yaml',
      });
      applied.push({ info, object: target });
    }
  }
}

/** Whether lifeboat's service account may do `access` (a SubjectAccessReview). */
async function can(access: Access): Promise<boolean> {
  const review = await kube.request<{ status?: { allowed?: boolean } }>({
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${namespace}:lifeboat`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        resourceAttributes: { group: '', ...access },
      },
    },
  });
  return review.status?.allowed === true;
}

/** Each access with whether it is allowed, for one readable assertion. */
async function answers(accesses: Access[]): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const a of accesses) {
    const what = `${a.verb} ${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
    out[a.namespace ? `${what} in ${a.namespace}` : what] = await can(a);
  }
  return out;
}

// Writes a restore needs, and the ones that would hand over the cluster.
const RESTORE_WRITES: Access[] = [
  { verb: 'create', resource: 'configmaps', namespace: 'shop' },
  { verb: 'patch', resource: 'secrets', namespace: 'shop' },
  { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'shop' },
  { verb: 'create', resource: 'namespaces' },
];
const NEVER: Access[] = [
  {
    verb: 'create',
    resource: 'serviceaccounts',
    subresource: 'token',
    namespace: 'kube-system',
    name: 'admin',
  },
  { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'shop' },
  { verb: 'create', resource: 'pods', subresource: 'attach', namespace: 'shop' },
  { verb: 'create', resource: 'pods', subresource: 'portforward', namespace: 'shop' },
  { verb: 'create', resource: 'nodes', subresource: 'proxy' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'shop' },
  { verb: 'impersonate', resource: 'users' },
  { verb: 'impersonate', resource: 'serviceaccounts', namespace: 'kube-system' },
  { verb: 'impersonate', resource: 'groups' },
  { verb: 'create', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations' },
  { verb: 'delete', resource: 'configmaps', namespace: 'shop' },
  { verb: '*', resource: 'configmaps', namespace: 'shop' },
];
const allFalse = (accesses: Access[]) =>
  answers(accesses).then((a) => Object.entries(a).filter(([, v]) => v));

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
  resources = await discoverResources(kube);
  namespace = uniqueName('lifeboat');
  suffix = namespace.slice('lifeboat-'.length);
  await applyDir(deployDir);
});

afterAll(async () => {
  for (const { info, object } of applied.reverse()) {
    await kube
      .delete(info, object.metadata.namespace ?? '', object.metadata.name ?? '')
      .catch(() => undefined);
  }
  kube.close();
});

describe("lifeboat's service account with deploy/ as it is", () => {
  it('reads everything and takes its Lease', async () => {
    expect(
      await answers([
        { verb: 'list', resource: 'secrets' },
        { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'shop' },
        { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace },
      ]),
    ).toEqual({
      'list secrets': true,
      'get apps/deployments in shop': true,
      [`create coordination.k8s.io/leases in ${namespace}`]: true,
    });
  });

  it('writes nothing: restoring is opted into', async () => {
    expect(await allFalse([...RESTORE_WRITES, ...NEVER])).toEqual([]);
    expect(
      await can({ verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'shop' }),
    ).toBe(false);
  });
});

describe('with the deploy/restore component', () => {
  beforeAll(async () => {
    await applyDir(join(deployDir, 'restore'));
    // The controller-manager fills the aggregated role in.
    await until(() => can(RESTORE_WRITES[0] as Access), 'the aggregated restore role');
  });

  it('writes the kinds a restore creates', async () => {
    expect(Object.values(await answers(RESTORE_WRITES))).toEqual(RESTORE_WRITES.map(() => true));
  });

  it('still cannot mint tokens, exec, proxy to nodes, escalate, bind, impersonate or delete', async () => {
    expect(await allFalse(NEVER)).toEqual([]);
  });

  it('writes a custom resource group once a ClusterRole labelled for aggregation grants it', async () => {
    const widgets: Access = {
      verb: 'create',
      group: 'widgets.example.com',
      resource: 'widgets',
      namespace: 'shop',
    };
    expect(await can(widgets)).toBe(false);
    const role: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `lifeboat-restore-widgets-${suffix}`, labels: { [AGGREGATE_LABEL]: suffix } },
      rules: [
        { apiGroups: ['widgets.example.com'], resources: ['widgets'], verbs: ['create', 'patch', 'update'] },
      ],
    };
    const info = infoOf(role);
    await kube.create(info, role);
    applied.push({ info, object: role });
    await until(() => can(widgets), 'the widgets rule to be aggregated');
    expect(await can({ ...widgets, subresource: 'status' })).toBe(false);
  });
});
