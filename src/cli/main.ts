// The `lifeboat` command. Parsing and printing only; every command calls the same functions
// the reconciler uses. This is the one place that catches, prints and exits.
import { Command, CommanderError, Option } from 'commander';
import { backupCommand } from './commands/backup.js';
import { restoreCommand } from './commands/restore.js';
import { auditCommand, reconcileCommand, runCommand } from './commands/reconcile.js';
import { validateCommand } from './commands/validate.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('lifeboat')
    .description('Backup and restore for Kubernetes, run the GitOps way (Velero-compatible storage).')
    .version('0.1.0')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .option(
      '--storage <location>',
      'backup location: a directory or s3://BUCKET[/PREFIX]?endpoint=URL (default: $LIFEBOAT_STORAGE or .lifeboat/backups)',
    )
    .option(
      '--location <name>',
      'a StorageLocation of the policy repository at --policies (instead of --storage)',
    )
    .option('--policies <dir>', 'the policy repository checkout that --location refers to', '.')
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
  program.addCommand(backupCommand());
  program.addCommand(restoreCommand());
  program.addCommand(reconcileCommand());
  program.addCommand(runCommand());
  program.addCommand(auditCommand());
  program.addCommand(validateCommand());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
