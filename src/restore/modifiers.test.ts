import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import {
  applyResourceModifiers,
  globToRegExp,
  jsonMergePatch,
  parsePatchValue,
  ResourceModifierError,
  validateResourceModifiers,
} from './modifiers.js';
import type { ResourceModifierConditions, ResourceModifierRule, ResourceModifiers } from './spec.js';

function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web-frontend', namespace: 'shop', labels: { app: 'web', tier: 'front' } },
    spec: {
      replicas: 2,
      paused: false,
      template: {
        spec: {
          containers: [
            { name: 'app', image: 'app:1' },
            { name: 'side', image: 'side:1' },
          ],
        },
      },
    },
  };
}

const modifiers = (...rules: ResourceModifierRule[]): ResourceModifiers => ({
  version: 'v1',
  resourceModifierRules: rules,
});
const setReplicas: Pick<ResourceModifierRule, 'patches'> = {
  patches: [{ operation: 'replace', path: '/spec/replicas', value: '5' }],
};
const replicas = (obj: KubeObject) => (obj.spec as { replicas: unknown }).replicas;

describe('applyResourceModifiers: conditions', () => {
  it.each<[string, ResourceModifierConditions, boolean]>([
    ['exact groupResource', { groupResource: 'deployments.apps' }, true],
    ['other groupResource', { groupResource: 'statefulsets.apps' }, false],
    ['* does not cross a dot (gobwas glob, separator .)', { groupResource: '*' }, false],
    ['*.apps', { groupResource: '*.apps' }, true],
    ['** crosses dots', { groupResource: '**' }, true],
    ['{a,b} alternatives', { groupResource: '{deployments,statefulsets}.apps' }, true],
    ['namespace listed', { groupResource: 'deployments.apps', namespaces: ['shop', 'other'] }, true],
    ['namespace not listed', { groupResource: 'deployments.apps', namespaces: ['other'] }, false],
    [
      'name regex (unanchored, like Go regexp.MatchString)',
      { groupResource: 'deployments.apps', resourceNameRegex: 'front' },
      true,
    ],
    ['name regex anchored miss', { groupResource: 'deployments.apps', resourceNameRegex: '^front' }, false],
    [
      'matchLabels',
      { groupResource: 'deployments.apps', labelSelector: { matchLabels: { app: 'web' } } },
      true,
    ],
    [
      'matchLabels miss',
      { groupResource: 'deployments.apps', labelSelector: { matchLabels: { app: 'db' } } },
      false,
    ],
    [
      'matchExpressions NotIn/DoesNotExist',
      {
        groupResource: 'deployments.apps',
        labelSelector: {
          matchExpressions: [
            { key: 'tier', operator: 'NotIn', values: ['back'] },
            { key: 'gone', operator: 'DoesNotExist' },
          ],
        },
      },
      true,
    ],
    [
      'matchExpressions In/Exists',
      {
        groupResource: 'deployments.apps',
        labelSelector: {
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['front', 'back'] },
            { key: 'app', operator: 'Exists' },
          ],
        },
      },
      true,
    ],
    [
      'matches on a number',
      { groupResource: 'deployments.apps', matches: [{ path: '/spec/replicas', value: '2' }] },
      true,
    ],
    [
      'matches on a boolean',
      { groupResource: 'deployments.apps', matches: [{ path: '/spec/paused', value: 'false' }] },
      true,
    ],
    [
      'matches on a string in a list',
      {
        groupResource: 'deployments.apps',
        matches: [{ path: '/spec/template/spec/containers/0/image', value: 'app:1' }],
      },
      true,
    ],
    [
      'matches a different value',
      { groupResource: 'deployments.apps', matches: [{ path: '/spec/replicas', value: '3' }] },
      false,
    ],
    [
      'matches a missing path',
      { groupResource: 'deployments.apps', matches: [{ path: '/spec/nothing', value: 'x' }] },
      false,
    ],
  ])('%s → applies: %s', (_label, conditions, applies) => {
    const result = applyResourceModifiers(
      deployment(),
      'deployments.apps',
      modifiers({ conditions, ...setReplicas }),
    );
    expect(replicas(result.object)).toBe(applies ? 5 : 2);
    expect(result.applied).toHaveLength(applies ? 1 : 0);
  });

  it('matches a catastrophic-backtracking resourceNameRegex in linear time (RE2)', () => {
    // On V8's backtracking engine this call would not return for hours.
    const obj = deployment();
    obj.metadata.name = `${'a'.repeat(60)}-`;
    const result = applyResourceModifiers(
      obj,
      'deployments.apps',
      modifiers({ conditions: { groupResource: '**', resourceNameRegex: '^(a+)+$' }, ...setReplicas }),
    );
    expect(result.applied).toEqual([]);
  });

  it('matches a glob with many stars in linear time', () => {
    const result = applyResourceModifiers(
      deployment(),
      `${'a'.repeat(200)}.apps`,
      modifiers({ conditions: { groupResource: `${'*a'.repeat(30)}b.apps` }, ...setReplicas }),
    );
    expect(result.applied).toEqual([]);
  });

  it('ignores the namespaces condition for cluster-scoped objects', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };
    const result = applyResourceModifiers(
      ns,
      'namespaces',
      modifiers({
        conditions: { groupResource: 'namespaces', namespaces: ['elsewhere'] },
        patches: [{ operation: 'add', path: '/metadata/labels', value: '{"restored":"yes"}' }],
      }),
    );
    expect(result.object.metadata.labels).toEqual({ restored: 'yes' });
  });

  it('matches every rule against the object as it was before any rule ran (Velero)', () => {
    const result = applyResourceModifiers(
      deployment(),
      'deployments.apps',
      modifiers(
        { conditions: { groupResource: 'deployments.apps' }, ...setReplicas },
        {
          conditions: {
            groupResource: 'deployments.apps',
            matches: [{ path: '/spec/replicas', value: '5' }],
          },
          patches: [{ operation: 'add', path: '/metadata/labels/second', value: 'ran' }],
        },
      ),
    );
    expect(result.object.metadata.labels?.second).toBeUndefined();
    expect(result.applied).toEqual(['rule 0: JSON patch (1 operation)']);
  });
});

describe('applyResourceModifiers: JSON patch', () => {
  const apply = (patches: ResourceModifierRule['patches']) =>
    applyResourceModifiers(
      deployment(),
      'deployments.apps',
      modifiers({ conditions: { groupResource: 'deployments.apps' }, patches }),
    );

  it.each<[string, unknown, unknown]>([
    ['a number', '3', 3],
    ['a quoted number stays a string', '"3"', '3'],
    ['a boolean', 'true', true],
    ['null', 'null', null],
    ['a JSON object', '{"a":1}', { a: 1 }],
    ['a JSON array', '["x"]', ['x']],
    ['a plain word as a string', 'nginx:1.25', 'nginx:1.25'],
    ['an empty value as an empty string', '', ''],
  ])('reads %s as Velero does', (_label, value, expected) => {
    const result = apply([
      { operation: 'add', path: '/metadata/annotations', value: '{}' },
      { operation: 'add', path: '/metadata/annotations/v', value: value as string },
    ]);
    expect(result.object.metadata.annotations?.v).toEqual(expected);
  });

  it('applies replace, remove, copy and move in order', () => {
    const result = apply([
      { operation: 'replace', path: '/spec/template/spec/containers/0/image', value: 'app:2' },
      { operation: 'remove', path: '/spec/template/spec/containers/1' },
      { operation: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copied' },
      { operation: 'move', from: '/metadata/labels/tier', path: '/metadata/labels/moved' },
    ]);
    expect(result.object.metadata.labels).toEqual({ app: 'web', copied: 'web', moved: 'front' });
    expect(JSON.stringify(result.object.spec)).toContain('[{"name":"app","image":"app:2"}]');
  });

  it('leaves the object unchanged when a test operation fails (Velero)', () => {
    const result = apply([
      { operation: 'test', path: '/spec/replicas', value: '9' },
      { operation: 'replace', path: '/spec/replicas', value: '5' },
    ]);
    expect(replicas(result.object)).toBe(2);
    expect(result.applied).toEqual([]);
  });

  it('applies when a test operation passes', () => {
    const result = apply([
      { operation: 'test', path: '/spec/replicas', value: '2' },
      { operation: 'replace', path: '/spec/replicas', value: '5' },
    ]);
    expect(replicas(result.object)).toBe(5);
  });

  it('names the rule, the object and the operation when a path does not resolve, without values', () => {
    const run = () => apply([{ operation: 'replace', path: '/spec/missing/deep', value: 's3cr3t-value' }]);
    expect(run).toThrow(ResourceModifierError);
    expect(run).toThrow(
      /rule 0 on deployments.apps shop\/web-frontend: JSON patch: operation 0 \(replace \/spec\/missing\/deep\)/,
    );
    expect(() => run()).not.toThrow(/s3cr3t-value/);
  });

  it('rejects a value that looks like JSON but is not', () => {
    expect(() => apply([{ operation: 'add', path: '/metadata/labels/x', value: '{oops' }])).toThrow(
      /patches\[0\]/,
    );
  });
});

describe('applyResourceModifiers: merge and strategic patches', () => {
  it('applies JSON merge patches written in YAML, in order', () => {
    const result = applyResourceModifiers(
      deployment(),
      'deployments.apps',
      modifiers({
        conditions: { groupResource: 'deployments.apps' },
        mergePatches: [
          { patchData: 'metadata:\n  labels:\n    tier: null\n    env: prod\n' },
          { patchData: '{"spec":{"replicas":7}}' },
        ],
      }),
    );
    expect(result.object.metadata.labels).toEqual({ app: 'web', env: 'prod' });
    expect(replicas(result.object)).toBe(7);
    expect(result.applied).toEqual(['rule 0: merge patch (2 patches)']);
  });

  it('a merge patch replaces lists (RFC 7386), a strategic patch merges containers by name', () => {
    const patchData =
      'spec:\n  template:\n    spec:\n      containers:\n        - name: side\n          image: side:2\n';
    const rule = (kind: 'mergePatches' | 'strategicPatches') =>
      applyResourceModifiers(
        deployment(),
        'deployments.apps',
        modifiers({ conditions: { groupResource: 'deployments.apps' }, [kind]: [{ patchData }] }),
      );
    const names = (o: KubeObject) => JSON.stringify((o.spec as { template: unknown }).template);
    expect(names(rule('mergePatches').object)).toBe(
      '{"spec":{"containers":[{"name":"side","image":"side:2"}]}}',
    );
    expect(names(rule('strategicPatches').object)).toBe(
      '{"spec":{"containers":[{"name":"app","image":"app:1"},{"name":"side","image":"side:2"}]}}',
    );
  });

  it('uses only the first kind of patch a rule has (Velero)', () => {
    const result = applyResourceModifiers(
      deployment(),
      'deployments.apps',
      modifiers({
        conditions: { groupResource: 'deployments.apps' },
        ...setReplicas,
        mergePatches: [{ patchData: '{"spec":{"replicas":9}}' }],
      }),
    );
    expect(replicas(result.object)).toBe(5);
  });

  it.each([
    ['bad YAML', 'mergePatches', 'a: b: c', /rule 0 .*mergePatches\[0\]\.patchData/],
    ['a strategic patch on a custom resource', 'strategicPatches', '{"spec":{}}', /not a built-in kind/],
    ['a merge patch that is not an object', 'mergePatches', '[1, 2]', /not a Kubernetes object/],
  ])('reports %s naming the rule', (_label, kind, patchData, message) => {
    const widget: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'shop' },
    };
    expect(() =>
      applyResourceModifiers(
        widget,
        'widgets.example.com',
        modifiers({ conditions: { groupResource: '**' }, [kind]: [{ patchData }] }),
      ),
    ).toThrow(message);
  });

  it('does not mutate its input', () => {
    const input = deployment();
    const copy = structuredClone(input);
    applyResourceModifiers(
      input,
      'deployments.apps',
      modifiers({ conditions: { groupResource: '**' }, ...setReplicas }),
    );
    expect(input).toEqual(copy);
  });

  it('returns the object as is without modifiers', () => {
    expect(applyResourceModifiers(deployment(), 'deployments.apps', undefined)).toEqual({
      object: deployment(),
      applied: [],
    });
  });
});

describe('validateResourceModifiers', () => {
  it('accepts a good document', () => {
    expect(
      validateResourceModifiers(modifiers({ conditions: { groupResource: '*.apps' }, ...setReplicas })),
    ).toEqual([]);
  });

  it.each<[string, ResourceModifiers, RegExp]>([
    [
      'a wrong version',
      {
        version: 'v2' as 'v1',
        resourceModifierRules: [{ conditions: { groupResource: 'pods' }, ...setReplicas }],
      },
      /^version:/,
    ],
    ['no rules', { version: 'v1', resourceModifierRules: [] }, /resourceModifierRules: must not be empty/],
    [
      'an empty groupResource',
      modifiers({ conditions: { groupResource: '' }, ...setReplicas }),
      /\[0\]\.conditions\.groupResource/,
    ],
    ['a bad glob', modifiers({ conditions: { groupResource: '{pods' }, ...setReplicas }), /invalid glob/],
    [
      'a bad regex',
      modifiers({ conditions: { groupResource: 'pods', resourceNameRegex: '(' }, ...setReplicas }),
      /resourceNameRegex/,
    ],
    [
      'an unknown operation',
      modifiers({
        conditions: { groupResource: 'pods' },
        patches: [{ operation: 'merge' as 'add', path: '/a' }],
      }),
      /patches\[0\]\.operation/,
    ],
    ['a rule without patches', modifiers({ conditions: { groupResource: 'pods' } }), /no patches/],
    [
      'a bad label selector',
      modifiers({
        conditions: {
          groupResource: 'pods',
          labelSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] },
        },
        ...setReplicas,
      }),
      /conditions\.labelSelector\.matchExpressions\[0\]\.values: must not be empty/,
    ],
  ])('reports %s', (_label, doc, message) => {
    expect(validateResourceModifiers(doc).join('\n')).toMatch(message);
  });
});

describe('helpers', () => {
  it.each([
    ['pods', 'pods', true],
    ['*', 'deployments.apps', false],
    ['*.apps', 'deployments.apps', true],
    ['*.*', 'ingresses.networking.k8s.io', false],
    ['**', 'ingresses.networking.k8s.io', true],
    ['pod?', 'pods', true],
    ['[dp]ods', 'pods', true],
    ['[!p]ods', 'pods', false],
  ])('glob %s on %s: %s', (glob, text, expected) => {
    expect(globToRegExp(glob).test(text)).toBe(expected);
  });

  it.each([
    [
      { a: 1, b: { c: 2, d: 3 } },
      { b: { c: null, e: 4 }, f: [1] },
      { a: 1, b: { d: 3, e: 4 }, f: [1] },
    ],
    [{ a: [1, 2] }, { a: [3] }, { a: [3] }],
    [{ a: 1 }, 'x', 'x'],
  ])('jsonMergePatch(%j, %j) (RFC 7386)', (target, patch, expected) => {
    expect(jsonMergePatch(target, patch)).toEqual(expected);
  });

  it('passes non-string values through (YAML already typed them)', () => {
    expect(parsePatchValue(3)).toBe(3);
    expect(parsePatchValue('TRUE')).toBe(true);
  });
});
