// Regular expressions written by people (a Restore's resourceNameRegex, the globs of filters and
// resource modifiers) run on RE2's linear-time engine (re2js, a pure-JS port), never on V8's
// backtracking one: a pattern like `^(a+)+$` would otherwise hold the event loop for minutes,
// and /healthz with it. RE2 is also the syntax Velero accepts (Go's regexp), so a pattern means
// the same here as there, and what Go refuses (backreferences, lookaround) is refused here.
// ADR 0012.
import { RE2JS } from 're2js';

/** A compiled pattern: only what callers need, so no backtracking RegExp can slip in. */
export interface LinearPattern {
  readonly source: string;
  /** Whether the pattern matches anywhere in `input` (Go's MatchString). */
  test(input: string): boolean;
}

export class LinearRegexError extends Error {
  constructor(
    readonly source: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'LinearRegexError';
  }
}

/** Compile with RE2 syntax; throws LinearRegexError with RE2's message (Go's wording). */
export function compileLinear(source: string, options: { dotAll?: boolean } = {}): LinearPattern {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source, options.dotAll ? RE2JS.DOTALL : 0);
  } catch (error) {
    throw new LinearRegexError(source, (error as Error).message);
  }
  return { source, test: (input) => compiled.matcher(input).find() };
}

/** Why `source` does not compile, or undefined when it does. */
export function linearRegexError(source: string): string | undefined {
  try {
    compileLinear(source);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
