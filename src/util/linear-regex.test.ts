import { describe, expect, it } from 'vitest';
import { compileLinear, LinearRegexError, linearRegexError } from './linear-regex.js';

describe('compileLinear', () => {
  it.each<[string, string, boolean]>([
    ['front', 'my-frontend', true], // unanchored: matches anywhere, like Go's MatchString
    ['^front', 'my-frontend', false],
    ['^db-[0-9]+$', 'db-12', true],
    ['^db-[0-9]+$', 'db-12x', false],
  ])('%j on %j: %s', (source, input, expected) => {
    expect(compileLinear(source).test(input)).toBe(expected);
  });

  it('matches a catastrophic-backtracking pattern against a long input in linear time', () => {
    // V8's engine would take longer than the age of the universe on this.
    expect(compileLinear('^(a+)+$').test(`${'a'.repeat(100_000)}!`)).toBe(false);
    expect(compileLinear('^(a|aa)*c$').test('a'.repeat(100_000))).toBe(false);
  });

  it('lets "." cross newlines only with dotAll', () => {
    expect(compileLinear('^a.b$').test('a\nb')).toBe(false);
    expect(compileLinear('^a.b$', { dotAll: true }).test('a\nb')).toBe(true);
  });

  it.each([
    ['(', 'error parsing regexp: missing closing ): `(`'],
    ['(?=x)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
    ['(a)\\1', 'error parsing regexp: invalid escape sequence: `\\1`'],
  ])("refuses %j with Go's message", (source, message) => {
    expect(linearRegexError(source)).toBe(message);
    expect(() => compileLinear(source)).toThrow(LinearRegexError);
  });
});
