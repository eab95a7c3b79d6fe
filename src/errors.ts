// Typed errors for user mistakes and environment problems. The CLI catches these once, prints
// `error: <message>` plus the hint, and exits with `exitCode` (2 = usage/input error by default).

export type ErrorCode =
  | 'USAGE'
  | 'SCENARIO'
  | 'MODEL'
  | 'QUANTIZE'
  | 'PROVIDER'
  | 'SERVER'
  | 'RUN'
  | 'RESULT'
  | 'GATE'
  | 'NGINX';

/** An error meant for the user: one clear line, what to do, no stack trace. */
export class LlmbenchError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint: string | null = null,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'LlmbenchError';
  }
}

export class UsageError extends LlmbenchError {
  constructor(message: string, hint: string | null = null) {
    super('USAGE', message, hint);
  }
}

export class ScenarioError extends LlmbenchError {
  /** `problems` are "path: message" lines, all of them, not just the first. */
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super('SCENARIO', `${file}: invalid scenario\n${problems.map((p) => `  ${p}`).join('\n')}`, 'Fix the fields above; see README "Writing a scenario".');
  }
}

export class ModelError extends LlmbenchError {
  constructor(message: string, hint: string | null = null) {
    super('MODEL', message, hint);
  }
}

export class QuantizeError extends LlmbenchError {
  constructor(message: string, hint: string | null = null) {
    super('QUANTIZE', message, hint);
  }
}

export class ProviderError extends LlmbenchError {
  constructor(message: string, hint: string | null = null) {
    super('PROVIDER', message, hint);
  }
}

export function isLlmbenchError(e: unknown): e is LlmbenchError {
  return e instanceof LlmbenchError;
}
