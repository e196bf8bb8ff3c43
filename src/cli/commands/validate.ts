// `lifeboat validate [DIR]`: check a policy repository the way the reconciler will load it, for
// CI and pre-commit hooks. It needs no cluster and no storage: the context `act` builds is
// lazy, and this command never asks it for either.
import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { stringify } from 'yaml';
import {
  formatPolicyErrorsText,
  formatPolicyValidationJson,
  validatePolicyRepo,
  type PolicyValidationResult,
} from '../../policy/index.js';
import { forgeFromFlags, type ForgeFlags } from '../../gitops/forge/from-flags.js';
import { validateStatus } from '../../gitops/forge/plan-comment.js';
import { act } from '../action.js';
import { EXIT } from '../exit-codes.js';
import { UsageError, type OutputFormat } from '../output.js';

interface ValidateFlags extends ForgeFlags {
  json?: boolean;
  allowLinkLocalEndpoints?: boolean;
  forgeCommit?: string;
}

/** A missing or mistyped DIR is a command-line mistake (exit 2), not an invalid repository (4). */
async function checkDirectory(dir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`policy repository ${dir}: cannot read it (${code})`);
  }
  if (!isDirectory) throw new UsageError(`policy repository ${dir}: not a directory`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The text format: one `file:line:col: message (field)` line per error, then a summary. */
function renderText(result: PolicyValidationResult, dir: string): string {
  const lines = formatPolicyErrorsText(result.errors, { dir });
  lines.push(...formatPolicyErrorsText(result.warnings ?? [], { dir }));
  const valid = plural(result.documents, 'valid document');
  const warned = result.warnings?.length ? `, ${plural(result.warnings.length, 'warning')}` : '';
  if (result.ok) {
    lines.push(`${dir}: ${valid}, no errors${warned}`);
  } else {
    const files = new Set(result.errors.map((e) => e.file)).size;
    lines.push(
      `${dir}: ${plural(result.errors.length, 'error')} in ${plural(files, 'file')}; ${valid}${warned}`,
    );
  }
  return lines.join('\n') + '\n';
}

function renderResult(result: PolicyValidationResult, format: OutputFormat, dir: string): string {
  // JSON has one stable shape (formatPolicyValidationJson); YAML is the same data.
  if (format === 'json') return formatPolicyValidationJson(result) + '\n';
  if (format === 'yaml') return stringify(JSON.parse(formatPolicyValidationJson(result)));
  return renderText(result, dir);
}

export function validateCommand(): Command {
  const validate = new Command('validate')
    .description('check every policy document in a repository: schema, rules and references (for CI)')
    .argument('[dir]', 'the policy repository', '.')
    .option('--json', 'print the result as JSON (the same as -o json)')
    .option(
      '--allow-link-local-endpoints',
      'accept s3Url on link-local and cloud metadata addresses, as a reconciler with this flag does',
    )
    .option('--forge <kind>', 'also set the lifeboat/validate status of --forge-commit on this forge (gitea)')
    .option('--forge-url <url>', "the forge's base URL")
    .option('--forge-repo <owner/name>', 'the policy repository on the forge')
    .option('--forge-commit <sha>', 'the commit validated: the branch head CI checked out')
    .option('--forge-token-file <path>', 'file with the forge token (default: $LIFEBOAT_FORGE_TOKEN)')
    .addHelpText(
      'after',
      `
Errors are printed one per line as FILE:LINE:COL: MESSAGE (FIELD), the format editors and CI
annotate from. status/, plans/, schema/, examples/ and hidden directories are not loaded.

Exit codes: 0 every document is valid · 2 DIR is not a readable directory · 4 invalid documents

Examples:
  lifeboat validate                  # the repository in the current directory
  lifeboat validate policies/
  lifeboat validate policies/ --json # the same as: lifeboat validate policies/ -o json`,
    );
  validate.action(
    act<[string, ValidateFlags]>(validate, async (_ctx, format, dir, flags) => {
      await checkDirectory(dir);
      const result = await validatePolicyRepo(dir, {
        rules: { allowLinkLocalEndpoints: flags.allowLinkLocalEndpoints === true },
      });
      process.stdout.write(renderResult(result, flags.json ? 'json' : format, dir));
      if (flags.forge) {
        // CI knows the commit it checked out; this command runs no git.
        if (!flags.forgeRepo || !flags.forgeCommit)
          throw new UsageError('--forge needs --forge-repo owner/name and --forge-commit SHA');
        const forge = forgeFromFlags(flags, '', process.env);
        // A status that could not be set fails the command (the error names the call), so CI sees it.
        await forge?.setStatus(flags.forgeCommit, validateStatus(result));
      }
      return result.ok ? EXIT.ok : EXIT.invalid;
    }),
  );
  return validate;
}
