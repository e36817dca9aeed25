/**
 * Date helpers for templates: `formatDate` and `today`.
 *
 * CSV dates are calendar dates, not instants: they are parsed into year/month/day and formatted
 * in UTC from those components, so no time zone can move a date to the day before or after.
 * Error messages never contain the value that was refused.
 */

/** Formats a template may ask for. `long` is the default. */
export const DATE_FORMATS = ['long', 'short', 'medium', 'iso'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

export const DEFAULT_LOCALE = 'en-US';

export const NOT_A_DATE = 'formatDate: value is not a date (expected YYYY-MM-DD or MM/DD/YYYY)';

/** How a CSV writes a date that is not YYYY-MM-DD (always accepted): month first (the default) or day first. */
export const DATE_ORDERS = ['MM/DD/YYYY', 'DD/MM/YYYY'] as const;
export type DateOrder = (typeof DATE_ORDERS)[number];
export const DEFAULT_DATE_ORDER: DateOrder = 'MM/DD/YYYY';

export function isDateOrder(value: unknown): value is DateOrder {
  return typeof value === 'string' && (DATE_ORDERS as readonly string[]).includes(value);
}

/** Where the date order in force came from: nothing set, the file-wide setting, or the template's `input=`. */
export type DateOrderSource = 'default' | 'setting' | 'template';

/** Thrown by helpers. The message is safe to show: it names the helper, never a value. */
export class HelperError extends Error {
  override name = 'HelperError';
  /** `line:column` of the helper call in the template, filled in when the helper fails. */
  at?: string;

  constructor(
    message: string,
    /** The problem without the helper's name, for a row message that names the column (`not a date`). */
    readonly problem?: string,
    /** What to do about it (`expected YYYY-MM-DD or MM/DD/YYYY; for day-first dates set …`). */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** What a person can do about a date that is not valid in the order in force (names the setting). */
export function notADateHint(order: DateOrder, source: DateOrderSource): string {
  const expected = `expected YYYY-MM-DD or ${order}`;
  if (source === 'template') return `${expected}, as the template's input="${order}" says`;
  if (source === 'setting') {
    const other = order === 'DD/MM/YYYY' ? 'month-first dates set it to MM/DD/YYYY' : 'day-first dates set it to DD/MM/YYYY';
    return `${expected}, as --date-input or "dateInput" in canvas-letters.config.json says; for ${other}`;
  }
  return `${expected}; for day-first dates set "dateInput": "DD/MM/YYYY" in canvas-letters.config.json, --date-input DD/MM/YYYY, or formatDate … input="DD/MM/YYYY"`;
}

function notADate(order: DateOrder, source: DateOrderSource): HelperError {
  return new HelperError(`formatDate: value is not a date (expected YYYY-MM-DD or ${order})`, 'not a date', notADateHint(order, source));
}

export interface CalendarDate {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
}

const INTL_OPTIONS: Record<Exclude<DateFormat, 'iso'>, Intl.DateTimeFormatOptions> = {
  long: { year: 'numeric', month: 'long', day: 'numeric' }, // November 29, 2026
  medium: { year: 'numeric', month: 'short', day: 'numeric' }, // Nov 29, 2026
  short: { year: 'numeric', month: '2-digit', day: '2-digit' }, // 11/29/2026
};

const formatters = new Map<string, Intl.DateTimeFormat>();

export function isDateFormat(value: unknown): value is DateFormat {
  return typeof value === 'string' && (DATE_FORMATS as readonly string[]).includes(value);
}

const checkedLocales = new Map<string, boolean>();

/** True if Intl accepts `locale` as a BCP 47 tag (unknown but well-formed tags fall back). Cached: Intl's check is slow. */
export function isValidLocale(locale: unknown): locale is string {
  if (typeof locale !== 'string' || locale === '') return false;
  let valid = checkedLocales.get(locale);
  if (valid === undefined) {
    try {
      Intl.DateTimeFormat.supportedLocalesOf(locale);
      valid = true;
    } catch {
      valid = false;
    }
    checkedLocales.set(locale, valid);
  }
  return valid;
}

/**
 * Parse `YYYY-MM-DD`, or a slash date in `order` (`MM/DD/YYYY` by default, or `DD/MM/YYYY`;
 * month and day may have one digit). Surrounding spaces are ignored. Returns undefined for
 * anything else, including impossible dates (02/30/2026, or 14/03/1958 month first).
 */
export function parseCalendarDate(value: string, order: DateOrder = DEFAULT_DATE_ORDER): CalendarDate | undefined {
  const text = value.trim();
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  let parts: [string, string, string] | undefined;
  // The patterns capture all three groups whenever they match.
  if (m) parts = [m[1]!, m[2]!, m[3]!];
  else if ((m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text))) {
    parts = order === 'DD/MM/YYYY' ? [m[3]!, m[2]!, m[1]!] : [m[3]!, m[1]!, m[2]!];
  }
  if (!parts) return undefined;
  const [year, month, day] = parts.map(Number) as [number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1) return undefined;
  const probe = toUtcDate({ year, month, day });
  if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined;
  return { year, month, day };
}

function toUtcDate(d: CalendarDate): Date {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(d.year, d.month - 1, d.day);
  return date;
}

/** Format a calendar date. Throws HelperError (naming `helper`) for an unknown format or locale. */
export function formatCalendarDate(
  date: CalendarDate,
  format: unknown = 'long',
  locale: unknown = DEFAULT_LOCALE,
  helper = 'formatDate',
): string {
  if (!isDateFormat(format)) {
    throw new HelperError(`${helper}: unknown format (use ${DATE_FORMATS.join(', ')})`);
  }
  if (!isValidLocale(locale)) throw new HelperError(`${helper}: locale is not a valid language tag`);
  if (format === 'iso') {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
  }
  const key = `${locale}\u0000${format}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(locale, { ...INTL_OPTIONS[format], timeZone: 'UTC' });
    formatters.set(key, formatter);
  }
  return formatter.format(toUtcDate(date));
}

/** The date order of one formatDate call: the template's `input=` wins over the file-wide setting. */
export interface DateInput {
  /** The call's `input=` hash value, if any (checked here: it may come from a field). */
  input?: unknown;
  /** The file-wide setting (ValidateOptions.dateInput), if any. */
  setting?: DateOrder;
}

/**
 * `{{formatDate value [format] [locale="es-US"] [input="DD/MM/YYYY"]}}`. An empty value gives ""
 * (an optional date left blank); anything that is not a real date in the order in force throws
 * HelperError (NOT_A_DATE in the default order), whose hint names the setting to change.
 */
export function formatDateValue(value: unknown, format?: unknown, locale?: unknown, dates: DateInput = {}): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- merge values are strings; anything else prints as JavaScript prints it
  const text = value === undefined || value === null ? '' : String(value);
  if (dates.input !== undefined && !isDateOrder(dates.input)) {
    throw new HelperError(`formatDate: input is not a date order (use ${DATE_ORDERS.join(' or ')})`);
  }
  if (text.trim() === '') return '';
  const [order, source]: [DateOrder, DateOrderSource] =
    dates.input !== undefined ? [dates.input, 'template'] : dates.setting ? [dates.setting, 'setting'] : [DEFAULT_DATE_ORDER, 'default'];
  const date = parseCalendarDate(text, order);
  if (!date) throw notADate(order, source);
  return formatCalendarDate(date, format, locale);
}

/** The calendar date of `now` in the local time zone of this process. */
export function localDate(now: Date = new Date()): CalendarDate {
  return { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate() };
}

/** `YYYY-MM-DD`. */
export function isoDate(d: CalendarDate): string {
  return `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/**
 * `{{today [format] [locale=...]}}`: the render date (a run renders every letter at one date,
 * TemplateSet's `renderDate`), else today's date in the local time zone of this process.
 */
export function todayValue(format?: unknown, locale?: unknown, now: Date | CalendarDate = new Date()): string {
  const date = now instanceof Date ? localDate(now) : now;
  return formatCalendarDate(date, format, locale, 'today');
}
