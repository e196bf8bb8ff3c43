// The `lifeboat` command. Parsing and printing only; every command calls the same functions
// the reconciler uses. This is the one place that catches, prints and exits.
import { Command, CommanderError, Option } from 'commander';
import { EXIT } from './exit-codes.js';
import { UsageError } from './output.js';
import { subcommandOf } from './subcommand.js';

/**
 * Each command's module, loaded when the command line names it: a command loads the libraries
 * it needs (the AWS SDK, ajv, simple-git, …) and no others, so `lifeboat --version` starts in a
 * fraction of the time and `lifeboat validate` never loads what backups and restores need.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  backup: async () => (await import('./commands/backup.js')).backupCommand(),
  restore: async () => (await import('./commands/restore.js')).restoreCommand(),
  reconcile: async () => (await import('./commands/reconcile.js')).reconcileCommand(),
  run: async () => (await import('./commands/reconcile.js')).runCommand(),
  audit: async () => (await import('./commands/reconcile.js')).auditCommand(),
  validate: async () => (await import('./commands/validate.js')).validateCommand(),
  agent: async () => (await import('./commands/agent.js')).agentCommand(),
};

/** The whole program, every command loaded (what `lifeboat --help` shows). */
export async function buildProgram(): Promise<Command> {
  const program = globalProgram();
  for (const load of Object.values(COMMANDS)) program.addCommand(await load());
  return program;
}

/** The program with only the command `args` names, or every command when it names none. */
async function programFor(args: readonly string[]): Promise<Command> {
  const program = globalProgram();
  const valueFlags = new Set(
    program.options
      .filter((o) => o.required || o.optional)
      .flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
  );
  const named = subcommandOf(args, valueFlags);
  const load = named === undefined ? undefined : COMMANDS[named];
  if (load) return program.addCommand(await load());
  // --version needs no command; help, a typo or no command at all lists them all.
  const help = args.includes('--help') || args.includes('-h');
  if (!help && (args.includes('--version') || args.includes('-V'))) return program;
  return buildProgram();
}

function globalProgram(): Command {
  const program = new Command('lifeboat')
    .description('Backup and restore for Kubernetes, run the GitOps way (Velero-compatible storage).')
    .version('0.1.0')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .option(
      '--storage <location>',
      'backup location: a directory, s3://BUCKET[/PREFIX]?endpoint=URL, or a StorageLocation file (.yaml; its spec.restic gives file-system volume copies) (default: $LIFEBOAT_STORAGE or .lifeboat/backups)',
    )
    .option(
      '--location <name>',
      'a StorageLocation of the policy repository at --policies (instead of --storage)',
    )
    .option('--policies <dir>', 'the policy repository checkout that --location refers to', '.')
    .option(
      '--agent-namespace <ns>',
      "lifeboat's namespace: where its node agents take volume work, and where a location's Secrets named without a namespace are (default: lifeboat)",
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json', 'yaml'])
        .default('table'),
    )
    .option('--log-level <level>', 'JSON log level on stderr (default: warn)')
    .option('--max-item-bytes <n>', 'largest object a backup archive may hold, in bytes (default: 8 MiB)')
    .option(
      '--max-archive-bytes <n>',
      'most bytes a backup archive may expand to when read, in bytes (default: 16 GiB)',
    )
    .option('--max-archive-entries <n>', 'most entries a backup archive may hold (default: 1000000)')
    .option(
      '--request-timeout <duration>',
      'give up on a Kubernetes or S3 request after this long without an answer or a byte, then retry (defaults: 60s and 30s for Kubernetes, 120s and 60s for S3)',
    )
    .option(
      '--allow-missing-checksum',
      'restore lifeboat backups whose archive checksum was removed, unverified (default: refuse them)',
    )
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok · 1 error · 2 usage · 3 partially failed · 4 invalid policies · 5 stale restore plan`,
    );
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await programFor(argv.slice(2));
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageError ? EXIT.usage : EXIT.error;
  }
}
