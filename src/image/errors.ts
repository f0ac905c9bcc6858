// Why: the one error every reader of an image throws (file, JSON, or an Image in memory), in a
// module of its own so that the reader and the validator can both raise it without a cycle.

export class ImageError extends Error {
  override readonly name = 'ImageError';
  /** The errno name when the system refused to read it (EACCES, EPERM: exit code 5, not 3). */
  readonly code: string | undefined;
  constructor(message: string, opts: { code?: string | undefined; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = opts.code;
  }
}
