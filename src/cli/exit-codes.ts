// Why: one table maps every failure kind to its documented exit code (README "Exit codes").

export const EXIT = {
  OK: 0,
  /** diff: the images differ (a later stage). */
  DIFFERENT: 1,
  USAGE: 2,
  BAD_IMAGE: 3,
  NO_PROCESS: 4,
  PERMISSION: 5,
  OUTPUT: 6,
  TREE_CHANGED: 7,
  /** A sound image that no plan (or not this format) can recreate. */
  CANNOT_PLAN: 8,
  /** restore: a step failed (everything made was released). */
  RESTORE_FAILED: 9,
  /** diff: the search for an isomorphism hit its time bound before deciding. */
  DIFF_UNDECIDED: 10,
  INTERNAL: 70,
} as const;

/** Name → exit code for every error class the library throws. */
const BY_NAME: Record<string, number> = {
  ImageError: EXIT.BAD_IMAGE,
  NoSuchProcessError: EXIT.NO_PROCESS,
  PermissionError: EXIT.PERMISSION,
  OutputError: EXIT.OUTPUT,
  TreeChangedError: EXIT.TREE_CHANGED,
  PlanError: EXIT.CANNOT_PLAN,
  RestoreError: EXIT.RESTORE_FAILED,
  UsageError: EXIT.USAGE,
  ExternalMappingError: EXIT.USAGE,
  TargetError: EXIT.USAGE,
};

export function exitCodeOf(err: unknown): number {
  if (err instanceof Error) {
    const code = BY_NAME[err.name];
    if (code !== undefined) return code;
    if (err.name === 'SyscallError' && ['EACCES', 'EPERM'].includes((err as { code?: string }).code ?? '')) return EXIT.PERMISSION;
  }
  return EXIT.INTERNAL;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

