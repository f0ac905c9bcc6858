// Why: the failures a dump can end with, each carrying what the CLI needs to say one clear line
// and pick the documented exit code.

/** The process to dump does not exist (or is gone before the dump could pin it). */
export class NoSuchProcessError extends Error {
  override readonly name = 'NoSuchProcessError';
  constructor(readonly pid: number) {
    super(`pid ${pid}: no such process`);
  }
}

/** A process of the tree exited, or changed namespaces, while it was being read. */
export class TreeChangedError extends Error {
  override readonly name = 'TreeChangedError';
  constructor(what: string) {
    super(`${what}; the tree changed during the dump, try again`);
  }
}

/** The caller lacks what the dump needs (root, or ptrace access to one process). */
export class PermissionError extends Error {
  override readonly name = 'PermissionError';
}

/** The dump was asked to stop (SIGINT, SIGTERM): everything it held has been released. */
export class DumpAbortedError extends Error {
  override readonly name = 'DumpAbortedError';
}

/** `--freeze` could not bring the tree to a standstill. */
export class FreezeError extends Error {
  override readonly name = 'FreezeError';
}
