/** An error whose message is one clear sentence meant for the user. */
export class ExitPlanError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExitPlanError';
  }
}

/** The user (or a caller's AbortSignal) stopped the operation. */
export class CancelledError extends ExitPlanError {
  constructor(message = 'Cancelled.') {
    super(message, 'CANCELLED');
    this.name = 'CancelledError';
  }
}

export function isCancelled(err: unknown): err is CancelledError {
  return err instanceof CancelledError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Throws CancelledError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, message?: string): void {
  if (signal?.aborted) throw new CancelledError(message);
}

/** Node's system error code (ENOSPC, EACCES, ...) if there is one. */
export function systemCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One sentence for a failure to write a file or folder. */
export function describeWriteError(err: unknown, target: string): string | undefined {
  switch (systemCode(err)) {
    case 'ENOSPC':
      return `The disk is full: there is no space left to write ${target}.`;
    case 'EDQUOT':
      return `The disk quota is exhausted: cannot write ${target}.`;
    case 'EACCES':
    case 'EPERM':
      return `Permission denied: cannot write ${target}.`;
    case 'EROFS':
      return `The file system is read-only: cannot write ${target}.`;
    case 'ENOTDIR':
      return `Cannot write ${target}: part of the path is a file, not a folder.`;
    case 'ENOENT':
      return `Cannot write ${target}: the folder does not exist.`;
    default:
      return undefined;
  }
}
