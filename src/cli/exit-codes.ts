// Documented exit codes (README "Exit codes"). Scripts and CI rely on them.
export const EXIT = {
  ok: 0,
  /** Something failed: a clear message is printed to stderr. */
  error: 1,
  /** The command line was wrong (unknown flag, bad value). */
  usage: 2,
  /** The backup or restore ran but some items failed (PartiallyFailed). */
  partial: 3,
  /** Policy validation found errors (`lifeboat validate`). */
  invalid: 4,
  /** A restore plan is stale: the approved plan differs from what would be done now. */
  stale: 5,
  /** `backup verify` found a backup that does not hold what its metadata says. */
  unverified: 6,
} as const;
