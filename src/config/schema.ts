/**
 * What `canvas-letters.config.json` may hold, and its errors. The text is checked as strict
 * JSON first (jsonc-parser, for the line and column of a syntax error; comments and trailing
 * commas are refused), then every key is checked for a secret, then the zod schema refuses
 * unknown keys and wrong types. Every message names the file and the key path
 * (`jobs.jury.concurrency`) and never repeats a value: the file is the user's, but a value in
 * the wrong place may be a secret.
 */
import { parse as parseJsonc, printParseErrorCode, ParseErrorCode, type ParseError } from 'jsonc-parser';
import * as z from 'zod';
import { UsageError } from '../errors.js';
import { showName } from '../escape.js';

const WHOLE = 'expected a whole number of at least 1';
const POSITIVE = 'expected a number greater than 0';
const BOOLEAN = 'expected true or false';
const TEXT = 'expected a non-empty text in double quotes';

const text = () => z.string({ error: TEXT }).trim().min(1, { error: TEXT });
const whole = () => z.int({ error: WHOLE }).min(1, { error: WHOLE });
const positive = () => z.number({ error: POSITIVE }).positive({ error: POSITIVE });
const flag = () => z.boolean({ error: BOOLEAN });

/** A field name of `map`: what `--map field=column` takes before its `=`. */
const mapField = z
  .string()
  .trim()
  .min(1, { error: 'a field name cannot be blank' })
  .refine((f) => !f.includes('='), { error: 'a field name cannot contain "="' })
  .refine((f) => f !== '__proto__', { error: 'a field named __proto__ can only be mapped with --map' });

/** The settings of a job, and the file's defaults: the batch commands' option names. */
export const optionsShape = {
  template: text(),
  templatesDir: text(),
  out: text(),
  provider: text(),
  location: text(),
  map: z.record(mapField, text(), { error: 'expected an object of field names and column names, e.g. {"patientKey": "Patient ID"}' }),
  dateInput: z.enum(['MM/DD/YYYY', 'DD/MM/YYYY'], { error: 'expected "MM/DD/YYYY" or "DD/MM/YYYY"' }),
  concurrency: whole(),
  rate: positive(),
  limit: whole(),
  timeout: positive(),
  ledger: text(),
  skipInvalid: flag(),
  resendUnknown: flag(),
  yes: flag(),
  json: flag(),
  lookup: flag(),
  files: flag(),
  pdf: flag(),
  interval: positive(),
  settle: positive(),
  requireApproval: flag(),
};

const OBJECT = 'expected an object of settings, e.g. {"template": "jury-duty"}';
const optionsObject = z.strictObject(optionsShape, { error: OBJECT }).partial();

/** Job names: what a person types after `--job`. */
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const configSchema = z
  .strictObject(
    {
      $schema: z.string({ error: 'expected the address of a JSON schema' }),
      ...optionsShape,
      jobs: z.record(z.string().regex(JOB_NAME, { error: 'a job name is letters, digits, ".", "_" and "-", starting with a letter or digit' }), optionsObject, {
        error: 'expected an object of named jobs, e.g. {"jury": {"template": "jury-duty"}}',
      }),
    },
    { error: OBJECT },
  )
  .partial();

export type ConfigFile = z.infer<typeof configSchema>;
export type ConfigOptions = z.infer<typeof optionsObject>;
export type OptionName = keyof typeof optionsShape;

/** The setting names, as listed in messages. */
export const OPTION_NAMES = Object.keys(optionsShape) as OptionName[];

/** Key names that say "secret": refused wherever they are in the file. */
const SECRET_KEY = /secret|token|passw(or)?d|credential|api[-_ ]?key/i;

/**
 * Parse and check the text of a config file. `shown` names the file in messages.
 * Throws UsageError (exit 2): a JSON syntax error (line, column), a secret, an unknown key, a wrong type.
 */
export function parseConfig(text: string, shown: string): ConfigFile {
  const value = parseJson(text, shown);
  refuseSecrets(value, [], shown);
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  throw schemaError(result.error.issues, shown);
}

function parseJson(text: string, shown: string): unknown {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first !== undefined) {
    const { line, column } = lineColumn(text, first.offset);
    throw new UsageError(`${shown}, line ${line}, column ${column}: not valid JSON (${syntaxProblem(first.error)})`, SYNTAX_HINT);
  }
  return JSON.parse(text) as unknown;
}

const SYNTAX_HINT = 'the file is plain JSON: names and texts in double quotes, commas between entries, no trailing comma, no comments';

function syntaxProblem(code: ParseErrorCode): string {
  switch (code) {
    case ParseErrorCode.InvalidSymbol:
      return 'unexpected character';
    case ParseErrorCode.PropertyNameExpected:
      return 'expected a name in double quotes';
    case ParseErrorCode.ValueExpected:
      return 'expected a value';
    case ParseErrorCode.ColonExpected:
      return 'expected ":"';
    case ParseErrorCode.CommaExpected:
      return 'expected ","';
    case ParseErrorCode.CloseBraceExpected:
      return 'expected "}"';
    case ParseErrorCode.CloseBracketExpected:
      return 'expected "]"';
    case ParseErrorCode.EndOfFileExpected:
      return 'more text after the end of the settings';
    case ParseErrorCode.InvalidCommentToken:
      return 'JSON has no comments';
    case ParseErrorCode.UnexpectedEndOfString:
      return 'a text is never closed with "';
    default:
      return printParseErrorCode(code);
  }
}

/** 1-based line and column of a character offset (a tab counts as one column). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastBreak = Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r'));
  const lines = before.match(/\r\n|\r|\n/g)?.length ?? 0;
  return { line: lines + 1, column: offset - lastBreak };
}

/** `jobs.jury.clientSecret`, each segment escaped. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path.map((p) => showName(String(p))).join('.');
}

function refuseSecrets(value: unknown, path: string[], shown: string): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => refuseSecrets(v, [...path, String(i)], shown));
    return;
  }
  // A job's name is the user's name for it, not a setting: only settings are checked.
  const isJobNames = path.length === 1 && path[0] === 'jobs';
  for (const [key, v] of Object.entries(value)) {
    if (!isJobNames && SECRET_KEY.test(key)) {
      throw new UsageError(`${shown}: ${keyPath([...path, key])}: secrets are never read from the config file; put ${secretHome(key)} in the environment or .env`);
    }
    refuseSecrets(v, [...path, key], shown);
  }
}

/** Where the secret a key names belongs. */
function secretHome(key: string): string {
  if (/token/i.test(key)) return 'CANVAS_ACCESS_TOKEN';
  if (/secret/i.test(key)) return 'CANVAS_CLIENT_SECRET';
  return 'the credentials (CANVAS_CLIENT_ID and CANVAS_CLIENT_SECRET, or CANVAS_ACCESS_TOKEN; a proxy password in HTTPS_PROXY)';
}

function schemaError(issues: readonly z.core.$ZodIssue[], shown: string): UsageError {
  const [first] = issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length === 2 ? '' : 's'})` : '';
  if (first === undefined) return new UsageError(`${shown}: not a valid config file`);
  if (first.code === 'unrecognized_keys') {
    const where = keyPath([...first.path, first.keys[0] ?? '']);
    const allowed = first.path.length === 0 ? ['$schema', ...OPTION_NAMES, 'jobs'] : OPTION_NAMES;
    return new UsageError(`${shown}: ${where}: unknown setting${more}`, `check the spelling; the settings are: ${allowed.join(', ')}`);
  }
  const problem = first.code === 'invalid_key' ? (first.issues[0]?.message ?? first.message) : first.message;
  const where = first.path.length ? `${keyPath(first.path)}: ` : '';
  return new UsageError(`${shown}: ${where}${problem}${more}`, 'see "Config file" in the README for the settings and their values');
}
