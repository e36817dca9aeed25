/**
 * The helpers a template can call, what each accepts (checked when a template is loaded),
 * and their implementations: today, formatDate, upper, lower, titleCase, default, image.
 *
 * Helpers receive CSV values, so their errors (HelperError) name the helper, never the value.
 * Every helper returns a plain string that Handlebars escapes, except `image`, whose data: URI
 * is built here from a file inside the templates folder and returned as a SafeString.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname, isAbsolute } from 'node:path';
import Handlebars from 'handlebars';
import { formatDateValue, HelperError, todayValue, type CalendarDate, type DateOrder } from './dates.js';
import { resolveInside } from './inside.js';

export { HelperError };

/** Handlebars' own helpers. Only `if` and `unless` may be used by a template. */
export const BUILTIN_HELPERS = [
  'if',
  'unless',
  'each',
  'with',
  'lookup',
  'log',
  'blockHelperMissing',
  'helperMissing',
] as const;

export interface HelperSpec {
  /** Number of positional arguments accepted. */
  min: number;
  max: number;
  /** Hash (name=value) options accepted. */
  hash: readonly string[];
}

export const HELPER_SPECS = {
  today: { min: 0, max: 1, hash: ['locale'] },
  formatDate: { min: 1, max: 2, hash: ['locale', 'input'] },
  upper: { min: 1, max: 1, hash: [] },
  lower: { min: 1, max: 1, hash: [] },
  titleCase: { min: 1, max: 1, hash: [] },
  default: { min: 2, max: 2, hash: [] },
  image: { min: 1, max: 1, hash: [] },
} as const satisfies Record<string, HelperSpec>;

export type OwnHelper = keyof typeof HELPER_SPECS;
export const OWN_HELPERS = Object.keys(HELPER_SPECS) as OwnHelper[];

/** Every name a template can call as a helper; a CSV column with one of these names is refused. */
export const HELPER_NAMES: readonly string[] = Object.freeze([...BUILTIN_HELPERS, ...OWN_HELPERS]);

export function isOwnHelper(name: string): name is OwnHelper {
  return Object.hasOwn(HELPER_SPECS, name);
}

/** Compile option: our helpers are always helpers, never looked up in the row. */
export const KNOWN_HELPERS: Record<string, boolean> = Object.fromEntries(
  OWN_HELPERS.map((name) => [name, true]),
);

function toText(value: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- merge values are strings; anything else prints as JavaScript prints it
  return value === undefined || value === null ? '' : String(value);
}

/**
 * Capitalise the first letter of each word, lower-case the rest (Unicode aware).
 * A word starts after anything that is not a letter, mark or digit: "jean-luc" → "Jean-Luc",
 * "O'BRIEN" → "O'Brien"; a single letter after an apostrophe stays small ("JOHN'S" → "John's").
 */
export function titleCase(value: string): string {
  return value
    .toLowerCase()
    .replace(/(?<![\p{L}\p{M}\p{N}])\p{L}/gu, (letter: string, offset: number, whole: string) => {
      const before = whole[offset - 1];
      const after = whole.slice(offset + letter.length);
      if ((before === "'" || before === '\u2019') && !/^[\p{L}\p{M}]/u.test(after)) return letter;
      return letter.toUpperCase();
    });
}

/** `{{default value fallback}}`: value if it has non-blank text, else fallback. */
export function defaultValue(value: unknown, fallback: unknown): unknown {
  if (toText(value).trim() !== '') return value;
  return fallback === undefined || fallback === null ? '' : fallback;
}

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
};

export const IMAGE_EXTENSIONS = Object.keys(IMAGE_TYPES);

/**
 * Images inside one templates folder, as data: URIs. A path is resolved against the folder and
 * then through every symlink (resolveInside); it must still be inside the folder. Each file is read
 * once and cached by the path the template asked for.
 */
export class ImageStore {
  private readonly cache = new Map<string, string>();

  constructor(readonly dir: string) {}

  dataUri(path: unknown): string {
    const wanted = toText(path).trim();
    const cached = this.cache.get(wanted);
    if (cached !== undefined) return cached;
    if (wanted === '') throw new HelperError('image: no file name given');
    if (isAbsolute(wanted)) {
      throw new HelperError('image: absolute paths are not allowed (give a path inside the templates folder)');
    }
    const type = IMAGE_TYPES[extname(wanted).toLowerCase()];
    if (!type) throw new HelperError(`image: unsupported file type (use ${IMAGE_EXTENSIONS.join(', ')})`);
    const found = resolveInside(this.dir, wanted);
    if ('problem' in found) {
      if (found.problem === 'missing') throw new HelperError('image: file not found in the templates folder');
      throw new HelperError('image: path leads outside the templates folder');
    }
    const { real } = found;
    if (IMAGE_TYPES[extname(real).toLowerCase()] !== type) {
      throw new HelperError('image: link points to a file of another type');
    }
    if (!statSync(real).isFile()) throw new HelperError('image: path is not a file');
    const uri = `data:${type};base64,${readFileSync(real).toString('base64')}`;
    this.cache.set(wanted, uri);
    return uri;
  }
}

type Args = unknown[];

/** Handlebars passes the HelperOptions last; split them from the positional arguments. */
function split(args: Args): { params: unknown[]; hash: Record<string, unknown> } {
  const options = args[args.length - 1] as Handlebars.HelperOptions | undefined;
  return { params: args.slice(0, -1), hash: options?.hash ?? {} };
}

/** Record where a failing helper was called, so the error can name the field it was given. */
function located(helper: (...args: Args) => unknown): (...args: Args) => unknown {
  return (...args: Args) => {
    try {
      return helper(...args);
    } catch (err) {
      const loc = (args[args.length - 1] as { loc?: hbs.AST.SourceLocation } | undefined)?.loc;
      if (err instanceof HelperError && loc) err.at = `${loc.start.line}:${loc.start.column}`;
      throw err;
    }
  };
}

/**
 * Register our helpers in an isolated Handlebars environment (see Handlebars.create()).
 * `dateInput` is the file-wide order of slash dates; a formatDate call's `input=` wins over it.
 * `renderDate` is the date `today` gives (by default the clock's, read at each call).
 */
export function registerHelpers(hb: typeof Handlebars, images: ImageStore, dateInput?: DateOrder, renderDate?: CalendarDate): void {
  const helpers: Record<OwnHelper, (...args: Args) => unknown> = {
    today: (...args: Args) => {
      const { params, hash } = split(args);
      return todayValue(params[0], hash.locale, renderDate ?? new Date());
    },
    formatDate: (...args: Args) => {
      const { params, hash } = split(args);
      return formatDateValue(params[0], params[1], hash.locale, { input: hash.input, setting: dateInput });
    },
    upper: (...args: Args) => toText(split(args).params[0]).toUpperCase(),
    lower: (...args: Args) => toText(split(args).params[0]).toLowerCase(),
    titleCase: (...args: Args) => titleCase(toText(split(args).params[0])),
    default: (...args: Args) => {
      const { params } = split(args);
      return defaultValue(params[0], params[1]);
    },
    image: (...args: Args) => new hb.SafeString(images.dataUri(split(args).params[0])),
  };
  for (const name of OWN_HELPERS) hb.registerHelper(name, located(helpers[name]));
  // Templates may not call `log` (checked at load); a no-op keeps row values off the console anyway.
  hb.registerHelper('log', () => '');
}
