import { describe, expect, it } from 'vitest';
import type { ResourceModifierRule } from '../../restore/spec.js';
import {
  jsonPointerError,
  patchDataError,
  regexError,
  resourceModifierIssues,
} from './resource-modifiers.js';

const issuesOf = (rule: ResourceModifierRule) =>
  resourceModifierIssues({ version: 'v1', resourceModifierRules: [rule] }, ['spec', 'resourceModifiers']).map(
    (i) => [i.path.slice(3).join('.'), i.message],
  );

describe('resourceModifierIssues', () => {
  it("accepts the example from Velero's documentation", () => {
    const rule: ResourceModifierRule = {
      conditions: {
        groupResource: 'persistentvolumeclaims',
        resourceNameRegex: '^mysql.*$',
        namespaces: ['bar', 'foo'],
        labelSelector: { matchLabels: { foo: 'bar' } },
      },
      patches: [
        { operation: 'replace', path: '/spec/storageClassName', value: 'premium' },
        { operation: 'remove', path: '/metadata/labels/test' },
      ],
    };
    expect(issuesOf(rule)).toEqual([]);
  });

  it.each<[string, ResourceModifierRule, [string, string]]>([
    [
      'a regex that does not compile',
      { conditions: { groupResource: 'pods', resourceNameRegex: '(' } },
      [
        '0.conditions.resourceNameRegex',
        'resourceNameRegex does not compile: error parsing regexp: missing closing ): `(`',
      ],
    ],
    [
      'two kinds of patch in one rule',
      {
        conditions: { groupResource: 'pods' },
        patches: [{ operation: 'remove', path: '/a' }],
        mergePatches: [{ patchData: '{}' }],
      },
      [
        '0.mergePatches',
        'set only one of patches, mergePatches or strategicPatches in a rule (as in Velero)',
      ],
    ],
    [
      'a patch path that is not a JSON Pointer',
      { conditions: { groupResource: 'pods' }, patches: [{ operation: 'remove', path: 'spec.replicas' }] },
      [
        '0.patches.0.path',
        'path "spec.replicas" must be a JSON Pointer starting with "/", such as "/spec/replicas"',
      ],
    ],
    [
      'move without from',
      { conditions: { groupResource: 'pods' }, patches: [{ operation: 'move', path: '/a' }] },
      ['0.patches.0.from', 'operation move needs "from"'],
    ],
    [
      'a strategic patch that is not a mapping',
      { conditions: { groupResource: 'pods' }, strategicPatches: [{ patchData: '- a' }] },
      [
        '0.strategicPatches.0.patchData',
        'patchData must hold a YAML or JSON mapping, such as "{\\"spec\\": {\\"replicas\\": 1}}"',
      ],
    ],
    [
      'a bad namespace condition',
      { conditions: { groupResource: 'pods', namespaces: ['Shop'] } },
      [
        '0.conditions.namespaces.0',
        'namespace "Shop" must be a DNS-1123 label: lower-case letters, digits and \'-\', starting and ending with a letter or digit',
      ],
    ],
    [
      'a bad match path',
      { conditions: { groupResource: 'pods', matches: [{ path: 'spec', value: 'x' }] } },
      [
        '0.conditions.matches.0.path',
        'path "spec" must be a JSON Pointer starting with "/", such as "/spec/replicas"',
      ],
    ],
  ])('%s', (_title, rule, expected) => {
    expect(issuesOf(rule)).toEqual([expected]);
  });
});

describe('helpers', () => {
  it.each([
    ['^shop-[a-z]+$', undefined],
    ['[', 'error parsing regexp: missing closing ]: `[`'],
    // Go's regexp (what Velero compiles with) has no lookaround and no backreferences.
    ['(?!x)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`'],
  ])('regexError(%j)', (source, expected) => {
    expect(regexError(source)).toBe(expected);
  });

  it.each([
    ['/spec/replicas', undefined],
    ['/metadata/annotations/a~1b', undefined],
    ['', 'must not be empty'],
    ['spec', 'must be a JSON Pointer starting with "/", such as "/spec/replicas"'],
    ['/a~2', 'has a "~" not followed by 0 or 1 (write "~0" for "~" and "~1" for "/")'],
  ])('jsonPointerError(%j)', (pointer, expected) => {
    expect(jsonPointerError(pointer)).toBe(expected);
  });

  it.each(['{"spec": {"replicas": 1}}', 'spec:\n  replicas: 1\n'])(
    'patchDataError accepts %j',
    (patchData) => {
      expect(patchDataError(patchData)).toBeUndefined();
    },
  );

  it.each([
    ['just text', 'patchData must hold a YAML or JSON mapping, such as "{\\"spec\\": {\\"replicas\\": 1}}"'],
    ['{ unclosed', 'patchData does not parse as YAML or JSON: '],
  ])('patchDataError rejects %j', (patchData, expected) => {
    expect(patchDataError(patchData)).toContain(expected);
  });
});
