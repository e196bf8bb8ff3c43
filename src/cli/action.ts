// Glue between commander and command bodies: build the context from global options, run,
// and turn the body's result into the process exit code. Errors propagate to main.ts, the one
// place that prints them.
import type { Command } from 'commander';
import { createCliContext, type CliContext, type GlobalOptions } from './context.js';
import type { OutputFormat } from './output.js';

export type Action<A extends unknown[]> = (
  ctx: CliContext,
  format: OutputFormat,
  ...args: A
) => Promise<number>;

export function act<A extends unknown[]>(cmd: Command, fn: Action<A>) {
  return async (...args: unknown[]): Promise<void> => {
    const globals = cmd.optsWithGlobals<GlobalOptions & { output: OutputFormat }>();
    const ctx = createCliContext(globals);
    try {
      // commander passes (...arguments, options, command); the body gets arguments and options.
      process.exitCode = await fn(ctx, globals.output, ...(args.slice(0, -1) as A));
    } finally {
      ctx.close();
    }
  };
}
