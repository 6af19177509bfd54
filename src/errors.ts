/**
 * Every error sbx reports to a person. main.ts prints them in one place:
 * `sbx: <message>` (+ `hint: …`), and exits with `exitCode`.
 */
export class SbxError extends Error {
  /** Process exit code when this error reaches main. */
  readonly exitCode: number;
  /** One line telling the user how to fix it, printed after the message. */
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint;
  }
}

/** Bad command line: unknown flag, missing argument. Exit 2, with usage. */
export class UsageError extends SbxError {
  readonly usage: string | undefined;
  constructor(message: string, usage?: string) {
    super(message, { exitCode: 2 });
    this.usage = usage;
  }
}

/** A policy file that cannot be used: names file, line, column, key path and bad value. Exit 2. */
export class PolicyError extends SbxError {
  /** One entry per problem, each already formatted as `file:line:col: key.path: message (got value)`. */
  readonly issues: string[];
  constructor(message: string, issues: string[], cause?: unknown) {
    super(message, { exitCode: 2, cause });
    this.issues = issues;
  }
}

/** The kernel lacks something sbx needs. Never followed by an unsandboxed run. Exit 70. */
export class KernelFeatureError extends SbxError {
  constructor(message: string, hint: string) {
    super(message, { exitCode: 70, hint });
  }
}

/** The native addon or launcher could not be loaded/found. Exit 70. */
export class NativeLoadError extends SbxError {
  constructor(message: string, tried: string[], cause?: unknown, options?: { hint?: string }) {
    super(`${message}\n  tried:\n${tried.map((p) => `    ${p}`).join('\n')}`, {
      exitCode: 70,
      hint: options?.hint ?? 'run `npm install` (or `npm run native`) in the sbx checkout to build native/unotify',
      cause,
    });
  }
}

/** Supervisor unreachable / protocol failure. Exit 69. */
export class SupervisorError extends SbxError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: 69, hint, cause });
  }
}
