import { describe, expect, it } from 'vitest';
import type { ResourceInfo } from '../kube/types.js';
import {
  createResourceResolver,
  editDistance,
  resolveGroupResource,
  UnknownResourceError,
} from './resource-resolver.js';

function res(
  groupVersion: string,
  resource: string,
  kind: string,
  opts: { namespaced?: boolean; short?: string[]; singular?: string } = {},
): ResourceInfo {
  const [group, version] = groupVersion.includes('/') ? groupVersion.split('/') : ['', groupVersion];
  return {
    group: group ?? '',
    version: version ?? 'v1',
    resource,
    kind,
    namespaced: opts.namespaced ?? true,
    verbs: ['list', 'get', 'create', 'delete'],
    shortNames: opts.short ?? [],
    singularName: opts.singular ?? kind.toLowerCase(),
    preferredVersion: version ?? 'v1',
  };
}

// Discovery order: core first, the server's group order, extensions last (discovery-rules.ts).
const catalog: ResourceInfo[] = [
  res('example.com/v1', 'mirrors', 'Mirror', { short: ['secrets', 'mi'] }), // a CRD listed early
  res('v1', 'pods', 'Pod', { short: ['po'] }),
  res('v1', 'configmaps', 'ConfigMap', { short: ['cm'] }),
  res('v1', 'secrets', 'Secret'),
  res('v1', 'events', 'Event', { short: ['ev'] }),
  res('v1', 'persistentvolumes', 'PersistentVolume', { namespaced: false, short: ['pv'] }),
  res('apps/v1', 'deployments', 'Deployment', { short: ['deploy'] }),
  res('apps/v1', 'statefulsets', 'StatefulSet', { short: ['sts'] }),
  res('events.k8s.io/v1', 'events', 'Event', { short: ['ev'] }),
  res('apiextensions.k8s.io/v1', 'customresourcedefinitions', 'CustomResourceDefinition', {
    namespaced: false,
    short: ['crd', 'crds'],
  }),
  res('example.com/v1', 'configmirrors', 'ConfigMirror', { short: ['cm'] }),
  res('example.com/v1', 'widgets', 'Widget', { short: ['wd'], singular: '' }),
  res('extensions/v1beta1', 'deployments', 'Deployment', { short: ['deploy'] }),
];

describe('resolving a resource name to its group-resource', () => {
  const resolver = createResourceResolver(catalog);

  it.each<[string, string]>([
    ['pods', 'pods'],
    ['pod', 'pods'],
    ['po', 'pods'],
    ['Pod', 'pods'],
    ['PODS', 'pods'],
    [' pods ', 'pods'],
    ['deployments', 'deployments.apps'],
    ['deployment', 'deployments.apps'],
    ['Deployment', 'deployments.apps'],
    ['deploy', 'deployments.apps'],
    ['deployments.apps', 'deployments.apps'],
    ['deploy.apps', 'deployments.apps'],
    ['Deployment.apps', 'deployments.apps'],
    ['deployments.extensions', 'deployments.extensions'],
    ['statefulset', 'statefulsets.apps'],
    ['crd', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['CustomResourceDefinition', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['customresourcedefinitions.apiextensions.k8s.io', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['pv', 'persistentvolumes'],
    ['*', '*'],
    // The exact resource name beats a CRD's short name of the same spelling (kubectl rule).
    ['secrets', 'secrets'],
    ['mi', 'mirrors.example.com'],
    ['secrets.example.com', 'mirrors.example.com'],
    // Short names shared by several resources: the core group wins, then discovery order.
    ['cm', 'configmaps'],
    ['cm.example.com', 'configmirrors.example.com'],
    // Plural shared by core and events.k8s.io: core first.
    ['events', 'events'],
    ['ev', 'events'],
    ['events.events.k8s.io', 'events.events.k8s.io'],
    // An empty singularName falls back to the kind.
    ['widget', 'widgets.example.com'],
    ['Widget', 'widgets.example.com'],
    ['wd', 'widgets.example.com'],
  ])('%j → %s', (input, expected) => {
    expect(resolver.groupResourceOf(input)).toBe(expected);
  });

  it('lists every candidate of an ambiguous name, best first', () => {
    const names = (input: string): string[] =>
      resolver
        .candidates(input)
        .map((info) => (info.group ? `${info.resource}.${info.group}` : info.resource));
    expect(names('events')).toEqual(['events', 'events.events.k8s.io']);
    expect(names('deploy')).toEqual(['deployments.apps', 'deployments.extensions']);
    expect(names('cm')).toEqual(['configmaps', 'configmirrors.example.com']);
    expect(names('pods')).toEqual(['pods']);
    expect(names('nothing')).toEqual([]);
    expect(names('*')).toEqual([]);
  });

  it('returns the full resource info', () => {
    expect(resolver.resolve('sts')).toMatchObject({
      group: 'apps',
      resource: 'statefulsets',
      kind: 'StatefulSet',
    });
    expect(resolver.tryResolve('nope')).toBeUndefined();
  });

  it.each<[string, string[]]>([
    ['deploymnets', ['deployments.apps']],
    ['pdos', ['pods']],
    ['secret.apps', ['secrets']],
    ['deployments.app', ['deployments.apps']],
    ['zzzzzzzz', []],
    ['', []],
  ])('rejects unknown %j, suggesting %j', (input, suggestions) => {
    const error = captureError(() => resolver.resolve(input));
    expect(error).toBeInstanceOf(UnknownResourceError);
    expect((error as UnknownResourceError).input).toBe(input);
    expect((error as UnknownResourceError).suggestions).toEqual(suggestions);
    expect((error as Error).message).toContain(JSON.stringify(input));
  });

  it('names the suggestions in the message', () => {
    expect(() => resolver.resolve('configmap.apps')).toThrow(
      /unknown resource "configmap.apps".*did you mean/,
    );
  });

  it('resolves one-off names without a resolver', () => {
    expect(resolveGroupResource('sts', catalog)).toBe('statefulsets.apps');
    expect(() => resolveGroupResource('sts', [])).toThrow(UnknownResourceError);
  });
});

describe('editDistance', () => {
  it.each<[string, string, number]>([
    ['', '', 0],
    ['pods', 'pods', 0],
    ['pods', 'pod', 1],
    ['pdos', 'pods', 1],
    ['ab', 'ba', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ])('%j → %j = %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
