// Kubernetes label selectors: the string form (`app=web,tier!=db,env in (a,b),!gone,has`)
// parsed into the LabelSelector of a Velero spec, matching, validation and formatting.
//
// Grammar and meaning follow k8s.io/apimachinery `pkg/labels/selector.go` (the lexer and
// parser behind `kubectl -l`) and `metav1.ParseToLabelSelector`: `=`/`==` become matchLabels,
// `!=` becomes NotIn with one value, `in`/`notin` take a parenthesised list, a bare key means
// Exists and `!key` DoesNotExist. `>`/`<` exist in the string grammar but have no LabelSelector
// form (ParseToLabelSelector rejects them), so we reject them too.
import type { LabelSelector, LabelSelectorRequirement } from './spec.js';

export class LabelSelectorError extends Error {
  constructor(
    message: string,
    /** The whole selector string, or the field path for structured selectors. */
    readonly input: string,
    /** The requirement (or field) that is wrong. */
    readonly part: string,
  ) {
    super(message);
    this.name = 'LabelSelectorError';
  }
}

/** One problem in a structured selector, with the path of the offending field. */
export interface SelectorIssue {
  field: string;
  message: string;
}

type Operator = LabelSelectorRequirement['operator'];
const OPERATORS: readonly Operator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

// Label keys are qualified names: an optional DNS-subdomain prefix, '/', and a name of at most
// 63 characters (k8s.io/apimachinery/pkg/util/validation IsQualifiedName / IsValidLabelValue).
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key ${JSON.stringify(key)} has an invalid prefix (must be a lowercase DNS subdomain)`;
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `label key ${JSON.stringify(key)} is invalid (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return `label value ${JSON.stringify(value)} is invalid (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Lexer

type TokenKind = 'ident' | '=' | '==' | '!=' | '!' | '(' | ')' | ',' | '>' | '<' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
  start: number;
}

const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<']);

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input.charAt(i);
    if (isSpace(ch)) {
      i++;
      continue;
    }
    if (SYMBOLS.has(ch)) {
      const two = input.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        tokens.push({ kind: two, text: two, start: i });
        i += 2;
      } else {
        tokens.push({ kind: ch as TokenKind, text: ch, start: i });
        i++;
      }
      continue;
    }
    const start = i;
    while (i < input.length && !SYMBOLS.has(input.charAt(i)) && !isSpace(input.charAt(i))) i++;
    tokens.push({ kind: 'ident', text: input.slice(start, i), start });
  }
  tokens.push({ kind: 'end', text: '', start: input.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser

interface ParsedRequirement {
  key: string;
  operator: Operator | 'Equals';
  values: string[];
}

class SelectorParser {
  private pos = 0;
  private readonly tokens: Token[];
  private requirementStart = 0;

  constructor(private readonly input: string) {
    this.tokens = lex(input);
  }

  parse(): ParsedRequirement[] {
    const requirements: ParsedRequirement[] = [];
    if (this.peek().kind === 'end') return requirements;
    for (;;) {
      this.requirementStart = this.peek().start;
      requirements.push(this.parseRequirement());
      const next = this.next();
      if (next.kind === 'end') return requirements;
      if (next.kind !== ',') throw this.fail(`expected ',' or end of selector but found ${describe(next)}`);
    }
  }

  private peek(): Token {
    // The token list always ends with an 'end' token, which we never step past.
    return this.tokens[Math.min(this.pos, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.pos++;
    return token;
  }

  private parseRequirement(): ParsedRequirement {
    if (this.peek().kind === '!') {
      this.next();
      const key = this.parseKey();
      return { key, operator: 'DoesNotExist', values: [] };
    }
    const key = this.parseKey();
    const op = this.peek();
    if (op.kind === ',' || op.kind === 'end') return { key, operator: 'Exists', values: [] };
    this.next();
    switch (op.kind) {
      case '=':
      case '==':
        return { key, operator: 'Equals', values: [this.parseExactValue()] };
      case '!=':
        return { key, operator: 'NotIn', values: [this.parseExactValue()] };
      case '>':
      case '<':
        throw this.fail(
          `operator '${op.text}' has no LabelSelector form (only =, ==, !=, in, notin, exists)`,
        );
      case 'ident':
        if (op.text === 'in') return { key, operator: 'In', values: this.parseValueSet() };
        if (op.text === 'notin') return { key, operator: 'NotIn', values: this.parseValueSet() };
        break;
      default:
        break;
    }
    throw this.fail(
      `expected an operator (=, ==, !=, in, notin) after key "${key}" but found ${describe(op)}`,
    );
  }

  private parseKey(): string {
    const token = this.next();
    if (token.kind !== 'ident') throw this.fail(`expected a label key but found ${describe(token)}`);
    const problem = labelKeyProblem(token.text);
    if (problem) throw this.fail(problem);
    return token.text;
  }

  private parseExactValue(): string {
    const token = this.peek();
    // `key=` with nothing after it selects the empty value, as in Kubernetes.
    if (token.kind === ',' || token.kind === 'end') return '';
    this.next();
    if (token.kind !== 'ident') throw this.fail(`expected a label value but found ${describe(token)}`);
    return this.checkedValue(token.text);
  }

  private parseValueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') throw this.fail(`expected '(' but found ${describe(open)}`);
    const values: string[] = [];
    if (this.peek().kind === ')') {
      this.next();
      throw this.fail("'in' and 'notin' need at least one value");
    }
    for (;;) {
      const token = this.peek();
      if (token.kind === 'ident') {
        this.next();
        values.push(this.checkedValue(token.text));
      } else if (token.kind === ',' || token.kind === ')') {
        values.push(''); // `(a,)` and `(,a)` include the empty value, as in Kubernetes
      } else {
        throw this.fail(`expected a value, ',' or ')' but found ${describe(token)}`);
      }
      const sep = this.next();
      if (sep.kind === ')') return [...new Set(values)];
      if (sep.kind !== ',') throw this.fail(`expected ',' or ')' but found ${describe(sep)}`);
    }
  }

  private checkedValue(value: string): string {
    const problem = labelValueProblem(value);
    if (problem) throw this.fail(problem);
    return value;
  }

  private fail(problem: string): LabelSelectorError {
    const part = requirementText(this.input, this.requirementStart);
    return new LabelSelectorError(
      `invalid label selector ${JSON.stringify(this.input)}: ${problem} (in ${JSON.stringify(part)})`,
      this.input,
      part,
    );
  }
}

function describe(token: Token): string {
  return token.kind === 'end' ? 'the end of the selector' : `"${token.text}"`;
}

/** The text of the requirement starting at `start`: up to the next comma outside parentheses. */
function requirementText(input: string, start: number): string {
  let depth = 0;
  let i = start;
  for (; i < input.length; i++) {
    const ch = input.charAt(i);
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) break;
  }
  return input.slice(start, i).trim();
}

/**
 * Parse a selector string into a LabelSelector. The empty string selects everything ({}).
 * Equality requirements go to matchLabels; a second equality on the same key becomes an
 * `In` expression so that both still apply (requirements are ANDed).
 */
export function parseLabelSelector(input: string): LabelSelector {
  const requirements = new SelectorParser(input).parse();
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const req of requirements) {
    if (req.operator === 'Equals') {
      const value = req.values[0] ?? '';
      if (Object.hasOwn(matchLabels, req.key)) {
        matchExpressions.push({ key: req.key, operator: 'In', values: [value] });
      } else {
        matchLabels[req.key] = value;
      }
    } else if (req.operator === 'Exists' || req.operator === 'DoesNotExist') {
      matchExpressions.push({ key: req.key, operator: req.operator });
    } else {
      matchExpressions.push({ key: req.key, operator: req.operator, values: req.values });
    }
  }
  const selector: LabelSelector = {};
  if (Object.keys(matchLabels).length > 0) selector.matchLabels = matchLabels;
  if (matchExpressions.length > 0) selector.matchExpressions = matchExpressions;
  return selector;
}

/**
 * Velero's `--or-selector` text: selectors separated by the word ` or ` (a separator, not an
 * operator; see the Velero "Resource filtering" docs).
 */
export function parseOrLabelSelectors(input: string): LabelSelector[] {
  return input.split(' or ').map((part) => parseLabelSelector(part.trim()));
}

// ---------------------------------------------------------------------------------------------
// Validation of structured selectors (from YAML), matching and formatting

/** Problems in a structured selector, each naming its field under `field`. */
export function validateLabelSelector(selector: unknown, field: string): SelectorIssue[] {
  if (selector === null || typeof selector !== 'object' || Array.isArray(selector)) {
    return [{ field, message: 'must be an object with matchLabels and/or matchExpressions' }];
  }
  const { matchLabels, matchExpressions } = selector as Record<string, unknown>;
  return [
    ...validateMatchLabels(matchLabels, `${field}.matchLabels`),
    ...validateMatchExpressions(matchExpressions, `${field}.matchExpressions`),
  ];
}

function validateMatchLabels(matchLabels: unknown, field: string): SelectorIssue[] {
  if (matchLabels === undefined) return [];
  if (matchLabels === null || typeof matchLabels !== 'object' || Array.isArray(matchLabels)) {
    return [{ field, message: 'must be a map of label keys to values' }];
  }
  const issues: SelectorIssue[] = [];
  for (const [key, value] of Object.entries(matchLabels)) {
    const keyField = `${field}[${JSON.stringify(key)}]`;
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) issues.push({ field: keyField, message: keyProblem });
    if (typeof value !== 'string') {
      issues.push({ field: keyField, message: 'label value must be a string' });
    } else {
      const valueProblem = labelValueProblem(value);
      if (valueProblem) issues.push({ field: keyField, message: valueProblem });
    }
  }
  return issues;
}

function validateMatchExpressions(expressions: unknown, field: string): SelectorIssue[] {
  if (expressions === undefined) return [];
  if (!Array.isArray(expressions)) return [{ field, message: 'must be a list of requirements' }];
  return expressions.flatMap((expr: unknown, index) => validateRequirement(expr, `${field}[${index}]`));
}

function validateRequirement(expr: unknown, field: string): SelectorIssue[] {
  if (expr === null || typeof expr !== 'object' || Array.isArray(expr)) {
    return [{ field, message: 'must be an object with key, operator and values' }];
  }
  const { key, operator, values } = expr as Record<string, unknown>;
  const issues: SelectorIssue[] = [];
  if (typeof key !== 'string') {
    issues.push({ field: `${field}.key`, message: 'must be a string' });
  } else {
    const problem = labelKeyProblem(key);
    if (problem) issues.push({ field: `${field}.key`, message: problem });
  }
  if (typeof operator !== 'string' || !OPERATORS.includes(operator as Operator)) {
    issues.push({ field: `${field}.operator`, message: `must be one of ${OPERATORS.join(', ')}` });
    return issues;
  }
  // metav1.LabelSelectorAsSelector: In/NotIn need values, Exists/DoesNotExist forbid them.
  const needsValues = operator === 'In' || operator === 'NotIn';
  if (values !== undefined && !Array.isArray(values)) {
    issues.push({ field: `${field}.values`, message: 'must be a list of strings' });
  } else if (needsValues && (values === undefined || values.length === 0)) {
    issues.push({ field: `${field}.values`, message: `must not be empty for operator ${operator}` });
  } else if (!needsValues && values !== undefined && values.length > 0) {
    issues.push({ field: `${field}.values`, message: `must be empty for operator ${operator}` });
  } else if (values !== undefined) {
    values.forEach((value: unknown, index) => {
      const problem = typeof value === 'string' ? labelValueProblem(value) : 'must be a string';
      if (problem) issues.push({ field: `${field}.values[${index}]`, message: problem });
    });
  }
  return issues;
}

/** Throws a LabelSelectorError when `selector` is not a valid structured selector. */
export function assertLabelSelector(selector: unknown, field: string): asserts selector is LabelSelector {
  const [first, ...rest] = validateLabelSelector(selector, field);
  if (first) {
    const more = rest.length > 0 ? ` (and ${rest.length} more)` : '';
    throw new LabelSelectorError(`${first.field}: ${first.message}${more}`, field, first.field);
  }
}

/**
 * Whether `labels` satisfy every requirement of `selector` (metav1.LabelSelectorAsSelector
 * semantics). An empty selector matches everything; NotIn and DoesNotExist match a missing label.
 */
export function matchesSelector(
  labels: Readonly<Record<string, string>> | undefined,
  selector: LabelSelector,
): boolean {
  const set = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(set, key) || set[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((req) => matchesRequirement(set, req));
}

function matchesRequirement(
  labels: Readonly<Record<string, string>>,
  req: LabelSelectorRequirement,
): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case 'In':
      return has && value !== undefined && (req.values ?? []).includes(value);
    case 'NotIn':
      return !has || value === undefined || !(req.values ?? []).includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/**
 * Whether `labels` match at least one of `selectors` (Velero's orLabelSelectors). An empty
 * list matches nothing: callers use orLabelSelectors only when the list is non-empty.
 */
export function matchesAny(
  labels: Readonly<Record<string, string>> | undefined,
  selectors: readonly LabelSelector[],
): boolean {
  return selectors.some((selector) => matchesSelector(labels, selector));
}

/** The selectors in a spec that decide which objects are included. */
export interface SelectorChoice {
  labelSelector?: LabelSelector;
  orLabelSelectors?: LabelSelector[];
}

/**
 * Velero rejects a spec that sets both labelSelector and a non-empty orLabelSelectors
 * (pkg/controller/backup_controller.go prepareBackupRequest: "only one can be specified").
 */
export function selectorChoiceProblem(choice: {
  labelSelector?: unknown;
  orLabelSelectors?: readonly unknown[];
}): string | undefined {
  if (choice.labelSelector !== undefined && (choice.orLabelSelectors?.length ?? 0) > 0) {
    return 'labelSelector and orLabelSelectors cannot both be set; use one of them';
  }
  return undefined;
}

/** Whether labels pass the spec's selectors: orLabelSelectors if set, else labelSelector, else all. */
export function matchesSelectorChoice(
  labels: Readonly<Record<string, string>> | undefined,
  choice: SelectorChoice,
): boolean {
  if (choice.orLabelSelectors && choice.orLabelSelectors.length > 0)
    return matchesAny(labels, choice.orLabelSelectors);
  if (choice.labelSelector) return matchesSelector(labels, choice.labelSelector);
  return true;
}

/**
 * The selector as a Kubernetes selector string (what the API's `labelSelector` list parameter
 * takes). Requirements are sorted by key, as Kubernetes prints them; `{}` formats as ''.
 */
export function formatLabelSelector(selector: LabelSelector): string {
  const parts: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    parts.push({ key, text: `${key}=${value}` });
  }
  for (const req of selector.matchExpressions ?? []) {
    parts.push({ key: req.key, text: formatRequirement(req) });
  }
  // Array.prototype.sort is stable, so requirements on the same key keep their order.
  parts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return parts.map((part) => part.text).join(',');
}

function formatRequirement(req: LabelSelectorRequirement): string {
  const values = [...new Set(req.values ?? [])].sort().join(',');
  switch (req.operator) {
    case 'In':
      return `${req.key} in (${values})`;
    case 'NotIn':
      return `${req.key} notin (${values})`;
    case 'Exists':
      return req.key;
    case 'DoesNotExist':
      return `!${req.key}`;
  }
}
