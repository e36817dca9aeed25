/**
 * Typed errors. Each one carries the context a person needs to act (file, row, column,
 * template line) and a hint saying what to do next. Messages never contain cell values,
 * letter content or secrets: only names of files, rows, columns and templates.
 *
 * Per-row problems are not exceptions: they are `Problem` records (see types.ts).
 * These classes are for conditions that stop a whole command.
 */

import { showName } from './escape.js';

export type ExitCode = 0 | 1 | 2 | 130;

export class CanvasLettersError extends Error {
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: ExitCode = 2;
  readonly hint?: string;

  constructor(message: string, hint?: string) {
    super(hint ? `${message}: ${hint}` : message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Bad command-line usage: unknown template name, malformed --map, conflicting options. */
export class UsageError extends CanvasLettersError {}

/** Bad or missing configuration (environment, .env, base URL). */
export class ConfigError extends CanvasLettersError {}

/** The longest name or id a person may give (`--by`, `--letter-id`). */
export const MAX_PLAIN_TEXT = 200;

/**
 * A name or id a person typed (`--by`, `--letter-id`), trimmed: 1 to MAX_PLAIN_TEXT characters,
 * without control characters (it is recorded, and shown to others). Else a UsageError saying
 * `what` was expected and `nothing` (what was not done), with the value shown escaped.
 */
export function plainText(value: string, option: string, what: string, nothing: string): string {
  const text = value.trim();
  if (text === '' || text.length > MAX_PLAIN_TEXT) throw new UsageError(`${option}: expected ${what} (1 to ${MAX_PLAIN_TEXT} characters)`, nothing);
  if (showName(text) !== text) throw new UsageError(`${option} ${showName(text)}: control characters are not allowed`, `give ${what} as plain text; ${nothing}`);
  return text;
}

/** `value` is what plainText returns for it: trimmed, 1 to MAX_PLAIN_TEXT characters, without control characters. */
export function isPlainText(value: unknown): value is string {
  return typeof value === 'string' && value === value.trim() && value !== '' && value.length <= MAX_PLAIN_TEXT && showName(value) === value;
}

export interface CsvErrorContext {
  file: string;
  /** 1-based data row (the header is not a row). */
  row?: number;
  /** 1-based physical line in the file, when no data row applies (header, encoding). */
  line?: number;
  column?: string;
}

/** The CSV file as a whole cannot be used: empty, bad header, ragged row, invalid UTF-8. */
export class CsvError extends CanvasLettersError {
  readonly file: string;
  readonly row?: number;
  readonly line?: number;
  readonly column?: string;

  constructor(ctx: CsvErrorContext, problem: string, hint?: string) {
    super(showName(`${ctx.file}: ${locate(ctx)}${problem}`), hint);
    this.file = ctx.file;
    this.row = ctx.row;
    this.line = ctx.line;
    this.column = ctx.column;
  }
}

export interface TemplateErrorContext {
  /** Path of the .hbs / .css file at fault. */
  file: string;
  /** 1-based line in that file, when known. */
  line?: number;
}

/** A template, partial or stylesheet cannot be used: syntax error, triple-stash, remote stylesheet. */
export class TemplateError extends CanvasLettersError {
  readonly file: string;
  readonly line?: number;

  constructor(ctx: TemplateErrorContext, problem: string, hint?: string) {
    super(showName(`${ctx.file}${ctx.line ? `, line ${ctx.line}` : ''}: ${problem}`), hint);
    this.file = ctx.file;
    this.line = ctx.line;
  }
}

/**
 * Rendering one row failed (a helper refused a value, strict mode hit a missing field).
 * Caught by validation and turned into a row `Problem`; never ends a command by itself.
 */
export class RenderError extends CanvasLettersError {
  readonly template: string;

  constructor(template: string, problem: string) {
    super(problem);
    this.template = template;
  }
}

function locate(ctx: CsvErrorContext): string {
  const parts: string[] = [];
  if (ctx.row !== undefined) parts.push(`row ${ctx.row}`);
  else if (ctx.line !== undefined) parts.push(`line ${ctx.line}`);
  if (ctx.column !== undefined) parts.push(`column ${ctx.column}`);
  return parts.length ? `${parts.join(', ')}: ` : '';
}
