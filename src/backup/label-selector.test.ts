import { describe, expect, it } from 'vitest';
import {
  assertLabelSelector,
  formatLabelSelector,
  LabelSelectorError,
  matchesAny,
  matchesSelector,
  matchesSelectorChoice,
  parseLabelSelector,
  parseOrLabelSelectors,
  selectorChoiceProblem,
  validateLabelSelector,
} from './label-selector.js';
import type { LabelSelector } from './spec.js';

describe('parseLabelSelector', () => {
  it.each<[string, LabelSelector]>([
    ['', {}],
    ['   ', {}],
    ['app=web', { matchLabels: { app: 'web' } }],
    ['app==web', { matchLabels: { app: 'web' } }],
    [' app = web ', { matchLabels: { app: 'web' } }],
    ['app=', { matchLabels: { app: '' } }],
    ['tier!=db', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }],
    ['env in (a,b)', { matchExpressions: [{ key: 'env', operator: 'In', values: ['a', 'b'] }] }],
    ['env in(a, b, a)', { matchExpressions: [{ key: 'env', operator: 'In', values: ['a', 'b'] }] }],
    ['env notin (prod)', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }],
    ['env in (a,)', { matchExpressions: [{ key: 'env', operator: 'In', values: ['a', ''] }] }],
    ['has', { matchExpressions: [{ key: 'has', operator: 'Exists' }] }],
    ['!gone', { matchExpressions: [{ key: 'gone', operator: 'DoesNotExist' }] }],
    ['! gone', { matchExpressions: [{ key: 'gone', operator: 'DoesNotExist' }] }],
    ['example.com/app=web', { matchLabels: { 'example.com/app': 'web' } }],
    [
      'app=web,app=api',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] },
    ],
    [
      'app=web,tier!=db,env in (a,b),!gone,has',
      {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'NotIn', values: ['db'] },
          { key: 'env', operator: 'In', values: ['a', 'b'] },
          { key: 'gone', operator: 'DoesNotExist' },
          { key: 'has', operator: 'Exists' },
        ],
      },
    ],
  ])('%j', (input, expected) => {
    expect(parseLabelSelector(input)).toEqual(expected);
  });

  it.each<[string, string, string]>([
    ['app=web,tier>db', 'tier>db', "operator '>'"],
    ['count<3', 'count<3', "operator '<'"],
    ['app=web,,x', '', 'expected a label key'],
    ['env in ()', 'env in ()', 'at least one value'],
    ['env in (a', 'env in (a', "expected ',' or ')'"],
    ['env in a', 'env in a', "expected '('"],
    ['app web', 'app web', 'expected an operator'],
    ['app=web=x', 'app=web=x', "expected ',' or end"],
    ['-bad=x', '-bad=x', 'label key "-bad" is invalid'],
    ['UPPER/x=y', 'UPPER/x=y', 'invalid prefix'],
    ['app=bad value', 'app=bad value', "expected ',' or end"],
    ['app=-x', 'app=-x', 'label value "-x" is invalid'],
    [`app=${'v'.repeat(64)}`, `app=${'v'.repeat(64)}`, 'is invalid'],
    ['!gone=x', '!gone=x', "expected ',' or end"],
    [',app=web', '', 'expected a label key'],
  ])('rejects %j, naming the part %j', (input, part, message) => {
    const error = captureError(() => parseLabelSelector(input));
    expect(error).toBeInstanceOf(LabelSelectorError);
    expect((error as LabelSelectorError).part).toBe(part);
    expect((error as LabelSelectorError).input).toBe(input);
    expect((error as Error).message).toContain(message);
  });
});

describe('matchesSelector', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  it.each<[string, Record<string, string> | undefined, boolean]>([
    ['', labels, true],
    ['', undefined, true],
    ['app=web', labels, true],
    ['app=api', labels, false],
    ['app=web', undefined, false],
    ['tier!=db', labels, true],
    ['tier!=front', labels, false],
    ['missing!=x', labels, true], // NotIn matches a missing label
    ['env in (prod,staging)', labels, true],
    ['env in (dev)', labels, false],
    ['env notin (dev)', labels, true],
    ['env notin (prod)', labels, false],
    ['missing notin (x)', labels, true],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['app=web,env=prod', labels, true],
    ['app=web,env=dev', labels, false],
    ['app=web,app=api', labels, false], // both equalities must hold
    ['empty=', { empty: '' }, true],
    ['empty=', labels, false],
  ])('%j against %j → %s', (selector, objectLabels, expected) => {
    expect(matchesSelector(objectLabels, parseLabelSelector(selector))).toBe(expected);
  });
});

describe('matchesAny and the selector choice', () => {
  const selectors = parseOrLabelSelectors('app=web or env in (prod, production)');

  it('splits or-selectors on the word "or"', () => {
    expect(selectors).toEqual([
      { matchLabels: { app: 'web' } },
      { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'production'] }] },
    ]);
  });

  it.each<[Record<string, string>, boolean]>([
    [{ app: 'web' }, true],
    [{ env: 'production' }, true],
    [{ app: 'api', env: 'dev' }, false],
    [{}, false],
  ])('%j → %s', (labels, expected) => {
    expect(matchesAny(labels, selectors)).toBe(expected);
  });

  it('matches nothing with no selectors', () => {
    expect(matchesAny({ app: 'web' }, [])).toBe(false);
  });

  it.each([
    [{ labelSelector: { matchLabels: { a: 'b' } } }, { a: 'b' }, true],
    [{ labelSelector: { matchLabels: { a: 'b' } } }, { a: 'c' }, false],
    [{ orLabelSelectors: selectors }, { env: 'prod' }, true],
    [{ orLabelSelectors: [] }, { any: 'thing' }, true],
    [{}, {}, true],
  ])('choice %j with labels %j → %s', (choice, labels, expected) => {
    expect(matchesSelectorChoice(labels, choice)).toBe(expected);
  });

  it('rejects labelSelector together with orLabelSelectors, as Velero does', () => {
    expect(selectorChoiceProblem({ labelSelector: {}, orLabelSelectors: [{}] })).toMatch(
      /cannot both be set/,
    );
    expect(selectorChoiceProblem({ labelSelector: {}, orLabelSelectors: [] })).toBeUndefined();
    expect(selectorChoiceProblem({ orLabelSelectors: [{}] })).toBeUndefined();
  });
});

describe('formatLabelSelector', () => {
  it.each<[string, string]>([
    ['', ''],
    ['app=web', 'app=web'],
    ['tier!=db,app=web', 'app=web,tier notin (db)'],
    ['env in (b,a)', 'env in (a,b)'],
    ['z,!y,x notin (1)', 'x notin (1),!y,z'],
    ['app=web,tier!=db,env in (a,b),!gone,has', 'app=web,env in (a,b),!gone,has,tier notin (db)'],
  ])('%j → %j', (input, expected) => {
    expect(formatLabelSelector(parseLabelSelector(input))).toBe(expected);
  });

  it.each(['app=web,env in (a,b),!gone,has,tier notin (db)', 'a=,b in (,x)', 'example.com/k=v'])(
    'round-trips %j',
    (text) => {
      const selector = parseLabelSelector(text);
      expect(parseLabelSelector(formatLabelSelector(selector))).toEqual(selector);
    },
  );
});

describe('validateLabelSelector', () => {
  it('accepts a valid structured selector', () => {
    const selector = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod'] },
        { key: 'gone', operator: 'DoesNotExist' },
      ],
    };
    expect(validateLabelSelector(selector, 'labelSelector')).toEqual([]);
  });

  it.each<[unknown, string]>([
    ['app=web', 'labelSelector'],
    [{ matchLabels: ['app'] }, 'labelSelector.matchLabels'],
    [{ matchLabels: { 'bad key!': 'x' } }, 'labelSelector.matchLabels["bad key!"]'],
    [{ matchLabels: { app: 3 } }, 'labelSelector.matchLabels["app"]'],
    [{ matchLabels: { app: 'not valid' } }, 'labelSelector.matchLabels["app"]'],
    [{ matchExpressions: {} }, 'labelSelector.matchExpressions'],
    [{ matchExpressions: [null] }, 'labelSelector.matchExpressions[0]'],
    [
      { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] },
      'labelSelector.matchExpressions[0].operator',
    ],
    [{ matchExpressions: [{ operator: 'Exists' }] }, 'labelSelector.matchExpressions[0].key'],
    [{ matchExpressions: [{ key: 'a', operator: 'In' }] }, 'labelSelector.matchExpressions[0].values'],
    [
      { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] },
      'labelSelector.matchExpressions[0].values',
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      'labelSelector.matchExpressions[0].values',
    ],
    [
      {
        matchExpressions: [
          { key: 'a', operator: 'Exists' },
          { key: 'b', operator: 'In', values: ['ok', '-no'] },
        ],
      },
      'labelSelector.matchExpressions[1].values[1]',
    ],
  ])('reports %j at %s', (selector, field) => {
    const issues = validateLabelSelector(selector, 'labelSelector');
    expect(issues.map((issue) => issue.field)).toEqual([field]);
  });
});

describe('assertLabelSelector', () => {
  it('passes a valid selector through', () => {
    const selector: unknown = { matchLabels: { app: 'web' } };
    assertLabelSelector(selector, 'spec.labelSelector');
    expect(matchesSelector({ app: 'web' }, selector)).toBe(true);
  });

  it('throws naming the first bad field and counting the rest', () => {
    const error = captureError(() =>
      assertLabelSelector({ matchLabels: { app: '-x', ok: 'y', 'a b': 'c' } }, 'spec.labelSelector'),
    );
    expect(error).toBeInstanceOf(LabelSelectorError);
    expect((error as LabelSelectorError).part).toBe('spec.labelSelector.matchLabels["app"]');
    expect((error as Error).message).toMatch(
      /^spec\.labelSelector\.matchLabels\["app"\]: .* \(and 1 more\)$/,
    );
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
