/**
 * Turning a compiled template into a LoadedTemplate: the render context built from a row,
 * the required-field check, CSS inlining (already done in the template when it could be inlined
 * once, else per letter), and error mapping.
 *
 * Handlebars' own error messages can quote values (`"b" not defined in <value>`), so they are
 * never passed on: every failure becomes a RenderError naming a field or helper. The template
 * is in RenderError.template; messages do not repeat it, so callers can prefix it once.
 */
import type Handlebars from 'handlebars';
import { RenderError, TemplateError } from '../errors.js';
import { inlineCss } from './inline.js';
import type { FieldUse } from './fields.js';
import { HelperError } from './helpers.js';
import type { Inlining, OnceResult } from './inline-once/index.js';
import { checkValues, type ValueCheck, type ValueProblem } from './safety.js';

export interface TemplateFields {
  /** Merge fields that must be present and non-empty, sorted. */
  required: string[];
  /** Fields only tested by #if/#unless or only given to `default` as its value, sorted. */
  optional: string[];
  /** required ∪ optional, sorted. */
  all: string[];
}

export interface LoadedTemplate {
  name: string;
  /** Path of the .hbs file. */
  file: string;
  /** Fields of the template and of the partials it calls, transitively. */
  fields: TemplateFields;
  /** Template-level warnings, e.g. a remote image in the source. */
  warnings: string[];
  /**
   * How renderLetter inlines the CSS: 'once', into the template when it was loaded, or
   * 'per-letter', into every rendered letter, where the merge could change what the styles
   * apply to (a merged class, an element whose siblings a selector tests, ...). Both give the
   * same letters; 'once' is much faster.
   */
  inlining: Inlining;
  /** Why the template is inlined per letter (undefined when inlined once). */
  inliningReason?: string;
  /** Handlebars output before CSS inlining. Missing optional fields count as "". Throws RenderError. */
  render(data: Record<string, string>): string;
  /**
   * render + inline CSS (styles.css, then <name>.css, then the template's own <style> blocks).
   * The same letter whichever way `inlining` says it is done.
   */
  renderLetter(data: Record<string, string>): string;
  /**
   * The row's values checked against where the template prints them: a value at the start of a
   * link must be a safe link, a value in a style safe CSS. One problem per failed check, naming
   * the field, never the value. render and renderLetter refuse such a row too (RenderError).
   */
  checkValues(data: Record<string, string>): ValueProblem[];
  /**
   * The template's own words and markup: the template rendered with every field empty, without
   * the checks a letter must pass (nothing from a row is in it). Undefined when the template cannot
   * render that way (a helper refuses an empty value).
   */
  ownText(): string | undefined;
}

export interface CompiledTemplate {
  name: string;
  file: string;
  fields: Map<string, FieldUse>;
  /** `line:column` of a helper call → the field given to it (null when ambiguous). */
  callSites: Map<string, string | null>;
  warnings: string[];
  /** styles.css then <name>.css. */
  css: string;
  compiled: Handlebars.TemplateDelegate;
  /** The template with the CSS inlined once, or why each letter is inlined instead. */
  once: OnceResult;
  /** Per-row checks of values by where they are printed (contexts.ts). */
  checks: ValueCheck[];
}

/**
 * Refuse field sets a flat row cannot satisfy: `a` used as a value and `a.b` as a group.
 * Dotted paths are looked up by Handlebars as nested objects, so the context nests them.
 */
export function checkFieldShapes(fields: Map<string, FieldUse>): void {
  for (const [name, use] of fields) {
    for (let k = 1; k < use.parts.length; k++) {
      const prefix = use.parts.slice(0, k).join('.');
      if (fields.has(prefix)) {
        throw new TemplateError(
          { file: use.file, line: use.line },
          `field "${name}" makes "${prefix}" a group of fields, but "${prefix}" is also used as a field`,
        );
      }
    }
  }
}

export function fieldLists(fields: Map<string, FieldUse>): TemplateFields {
  const all = [...fields.keys()].sort();
  return {
    required: all.filter((f) => fields.get(f)!.required),
    optional: all.filter((f) => !fields.get(f)!.required),
    all,
  };
}

function valueOf(data: Record<string, string>, field: string): string | undefined {
  if (!Object.hasOwn(data, field)) return undefined;
  const value = data[field];
  return typeof value === 'string' ? value : undefined;
}

type Context = { [key: string]: string | Context };

/** Every field the template uses, missing ones as "", in null-prototype objects. */
function buildContext(fields: Map<string, FieldUse>, data: Record<string, string>): Context {
  const root = Object.create(null) as Context;
  for (const [name, use] of fields) {
    let node = root;
    for (const part of use.parts.slice(0, -1)) {
      node = (node[part] ??= Object.create(null)) as Context;
    }
    node[use.parts[use.parts.length - 1]!] = valueOf(data, name) ?? '';
  }
  return root;
}

/**
 * A helper refused a row's value. `field` is the merge field the call was given, when its value
 * was a plain field (found through the call site in the template analysis), so validation can name
 * the column; `helper` holds the problem and its hint (HelperError.problem, .hint).
 */
export class HelperRenderError extends RenderError {
  constructor(
    template: string,
    readonly helper: HelperError,
    readonly field?: string,
  ) {
    super(template, field ? `field ${field}: ${helper.message}` : helper.message);
  }
}

function renderFailure(t: CompiledTemplate, err: unknown): RenderError {
  if (err instanceof HelperError) {
    const field = err.at === undefined ? undefined : t.callSites.get(err.at);
    return new HelperRenderError(t.name, err, field ?? undefined);
  }
  // Strict mode: `"name" not defined in ...`; the quoted part is a name from the template.
  const text = err instanceof Error ? err.message : '';
  const missing = /^"([^"]*)" not defined in /.exec(text);
  if (missing) return new RenderError(t.name, `field ${missing[1]} is not defined`);
  const line = (err as { lineNumber?: unknown } | null)?.lineNumber;
  const where = typeof line === 'number' ? ` near line ${line}` : '';
  return new RenderError(t.name, `rendering failed${where}`);
}

export function loadedTemplate(t: CompiledTemplate): LoadedTemplate {
  const fields = fieldLists(t.fields);
  const { checks } = t;
  const values = (data: Record<string, string>) => checkValues(checks, data);
  const merge = (compiled: Handlebars.TemplateDelegate) => (data: Record<string, string>): string => {
    const missing = fields.required.filter((f) => (valueOf(data, f) ?? '').trim() === '');
    if (missing.length > 0) {
      const what = missing.length === 1 ? 'field' : 'fields';
      throw new RenderError(t.name, `required ${what} missing or empty: ${missing.join(', ')}`);
    }
    const unsafe = checks.length === 0 ? undefined : checkValues(checks, data)[0];
    if (unsafe) throw new RenderError(t.name, `field ${unsafe.field}: ${unsafe.message}`);
    try {
      return compiled(buildContext(t.fields, data));
    } catch (err) {
      throw renderFailure(t, err);
    }
  };
  const render = merge(t.compiled);
  const perLetter = (data: Record<string, string>): string => {
    const html = render(data);
    try {
      return inlineCss(html, t.css);
    } catch {
      throw new RenderError(t.name, 'inlining the CSS failed');
    }
  };
  const { once } = t;
  return Object.freeze({
    name: t.name,
    file: t.file,
    fields,
    warnings: [...t.warnings],
    inlining: once.inlining,
    inliningReason: once.inlining === 'per-letter' ? once.reason : undefined,
    render,
    renderLetter: once.inlining === 'once' ? merge(once.compiled) : perLetter,
    checkValues: values,
    ownText: () => {
      const empty: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const field of fields.all) empty[field] = '';
      try {
        return t.compiled(buildContext(t.fields, empty));
      } catch {
        return undefined;
      }
    },
  });
}
