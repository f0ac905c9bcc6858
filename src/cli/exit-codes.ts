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
  /** The reader of stdout went away (`| head`): 128 + SIGPIPE, as a C tool killed by it ends. */
  READER_GONE: 141,
} as const;

/** What each exit code means, for --help and the man page (README "Exit codes" says it at length). */
export const EXIT_MEANINGS: readonly [number, string][] = [
  [EXIT.OK, 'success (diff: equivalent)'],
  [EXIT.DIFFERENT, 'diff: the images differ'],
  [EXIT.USAGE, 'usage error'],
  [EXIT.BAD_IMAGE, 'bad image: missing, damaged, or breaking a rule every reader checks'],
  [EXIT.NO_PROCESS, 'no such process'],
  [EXIT.PERMISSION, 'permission denied (not root, a process or an image file the kernel would not show)'],
  [EXIT.OUTPUT, 'the output directory exists, or cannot be created or written'],
  [EXIT.TREE_CHANGED, 'the tree changed during the dump (after --retries attempts)'],
  [EXIT.CANNOT_PLAN, 'the image is sound but cannot be planned (or not in this format, or restored here)'],
  [EXIT.RESTORE_FAILED, 'restore: a step failed, or a placeholder died; everything made was released'],
  [EXIT.DIFF_UNDECIDED, 'diff: undecided, the search hit its time bound (--timeout)'],
  [EXIT.INTERNAL, 'internal error (a bug; NSDUMP_DEBUG=1 prints the stack)'],
  [EXIT.READER_GONE, 'the reader of the output went away (| head), as SIGPIPE would end a C tool; not restore'],
];

/** Name → exit code for every error class the library throws. */
const BY_NAME: Record<string, number> = {
  ImageError: EXIT.BAD_IMAGE,
  NoSuchProcessError: EXIT.NO_PROCESS,
  PermissionError: EXIT.PERMISSION,
  OutputError: EXIT.OUTPUT,
  TreeChangedError: EXIT.TREE_CHANGED,
  FreezeError: EXIT.TREE_CHANGED,
  PlanError: EXIT.CANNOT_PLAN,
  RestoreError: EXIT.RESTORE_FAILED,
  UsageError: EXIT.USAGE,
  ExternalMappingError: EXIT.USAGE,
  SelectionError: EXIT.USAGE,
  LiveTargetError: EXIT.USAGE,
  ImageTargetError: EXIT.USAGE,
  TargetError: EXIT.USAGE,
};

export function exitCodeOf(err: unknown): number {
  if (err instanceof Error) {
    // The system refused to show or read something (a process, an image file): permission, not content.
    if (['SyscallError', 'ImageError'].includes(err.name) && ['EACCES', 'EPERM'].includes((err as { code?: string }).code ?? '')) return EXIT.PERMISSION;
    const code = BY_NAME[err.name];
    if (code !== undefined) return code;
  }
  return EXIT.INTERNAL;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

