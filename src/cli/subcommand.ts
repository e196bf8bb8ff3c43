// Which subcommand a command line names, before commander parses it: the CLI loads only that
// command's module (and so only the libraries it needs), so `lifeboat validate` never loads the
// AWS SDK and `lifeboat --version` loads no command at all.

/**
 * The first argument that is not a global option or a global option's value; undefined when
 * there is none (`lifeboat`, `lifeboat --help`, `lifeboat --version`). `valueFlags` are the
 * global flags that take a value (`--storage DIR`); `--flag=value` needs no lookup. After `--`,
 * nothing is an option.
 */
export function subcommandOf(args: readonly string[], valueFlags: ReadonlySet<string>): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return args[i + 1];
    if (!arg.startsWith('-') || arg === '-') return arg;
    if (!arg.includes('=') && valueFlags.has(arg)) i++;
  }
  return undefined;
}
