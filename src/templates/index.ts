/**
 * A folder of letter templates: `<name>.hbs` templates, `partials/*.hbs` partials, a shared
 * `styles.css`, optional `<name>.css` per template, and images used through {{image "path"}}.
 *
 * Partials and styles.css are read when the folder is loaded; a template is read, checked,
 * analysed (fields, partials followed transitively) and compiled once, on first use. Its CSS is
 * then inlined into the template itself, once, where that gives the same letters as inlining
 * each letter (see inline-once/); otherwise every letter is inlined. Rendering reads no files (images
 * are read once, then cached). All compilation happens in an isolated Handlebars environment
 * with strict mode, known helpers and no prototype access.
 */
import { statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import Handlebars from 'handlebars';
import { TemplateError, UsageError } from '../errors.js';
import { showName } from '../escape.js';
import { analyzeContexts } from './contexts.js';
import { DATE_ORDERS, isDateOrder, isoDate, localDate, parseCalendarDate, type CalendarDate, type DateOrder } from './dates.js';
import { analyzeTemplate, parseTemplate, type FieldUse, type FileAnalysis } from './fields.js';
import { HelperError, ImageStore, KNOWN_HELPERS, registerHelpers } from './helpers.js';
import { inlineOnce } from './inline-once/index.js';
import { checkFieldShapes, loadedTemplate, type LoadedTemplate } from './render.js';
import {
  checkCss,
  hbsNames,
  readOptional,
  readSource,
  refuseStylesheetImports,
  remoteImageWarnings,
  type SourceFile,
} from './sources.js';

export { HELPER_NAMES } from './helpers.js';
export { DATE_ORDERS, isDateOrder, type DateOrder } from './dates.js';
export type { Inlining } from './inline-once/index.js';
export type { ValueProblem } from './safety.js';
export type { LoadedTemplate, TemplateFields } from './render.js';

/** Valid template names: a CSV cell naming a template can never name a path. */
export const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const COMPILE_OPTIONS = { strict: true, knownHelpers: KNOWN_HELPERS };

export interface TemplateSetOptions {
  /** How formatDate reads slash dates (YYYY-MM-DD is always read); a call's `input=` wins. */
  dateInput?: DateOrder;
  /** The date `{{today}}` gives in every letter of the set, `YYYY-MM-DD` (default: the local date when the set is loaded). */
  renderDate?: string;
}

/** A file a template was made from (the template, its partials, its stylesheets): its path within the templates folder and sha256. */
export interface TemplateSource {
  path: string;
  sha256: string;
}

interface Partial {
  src: SourceFile;
  analysis: FileAnalysis;
  ast: hbs.AST.Program;
}

export class TemplateSet {
  readonly dir: string;
  /** The date `{{today}}` gives in every letter of this set, `YYYY-MM-DD`: one date for a whole run, even across midnight. */
  readonly renderDate: string;
  private readonly hb = Handlebars.create();
  private readonly images: ImageStore;
  private readonly partials = new Map<string, Partial>();
  private readonly cache = new Map<string, LoadedTemplate>();
  private names?: string[];
  private sharedCss?: SourceFile;
  private readonly sourceFiles = new Map<string, SourceFile[]>();

  private constructor(dir: string, renderDate: CalendarDate, private readonly dateInput?: DateOrder) {
    this.dir = dir;
    this.renderDate = isoDate(renderDate);
    this.images = new ImageStore(dir);
    registerHelpers(this.hb, this.images, dateInput, renderDate);
  }

  /**
   * Load a templates folder: partials and styles.css are read and checked now. `dateInput` is how
   * formatDate reads slash dates in every template of the set (default MM/DD/YYYY); a call's own
   * `input=` wins over it.
   */
  static load(dir: string, options: TemplateSetOptions = {}): TemplateSet {
    const { dateInput } = options;
    if (dateInput !== undefined && !isDateOrder(dateInput)) {
      throw new UsageError(`date input order "${showName(String(dateInput))}" is not one of ${DATE_ORDERS.join(', ')}`, 'give --date-input MM/DD/YYYY or DD/MM/YYYY');
    }
    const renderDate = options.renderDate === undefined ? localDate() : parseCalendarDate(options.renderDate);
    if (renderDate === undefined || (options.renderDate !== undefined && !/^\d{4}-\d\d-\d\d$/.test(options.renderDate))) {
      throw new UsageError(`render date "${showName(String(options.renderDate))}" is not a date`, 'give it as YYYY-MM-DD');
    }
    let isDir: boolean;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new UsageError(`templates folder not found: ${showName(dir)}; run canvas-letters init to start a project here, or give --templates-dir`);
    }
    if (!isDir) throw new UsageError(`not a folder: ${dir}`, 'give the folder that holds the .hbs templates');
    const set = new TemplateSet(dir, renderDate, dateInput);
    set.loadPartials();
    set.sharedCss = readOptional(join(dir, 'styles.css'), dir);
    if (set.sharedCss) checkCss(set.sharedCss);
    return set;
  }

  /**
   * The same folder, read again now, with `{{today}}` giving `renderDate` (YYYY-MM-DD) and the same
   * date input order: what the letters of an earlier run would be today, from today's files.
   */
  atDate(renderDate: string): TemplateSet {
    return TemplateSet.load(this.dir, { renderDate, ...(this.dateInput !== undefined && { dateInput: this.dateInput }) });
  }

  /** Names of the templates in the folder (not partials), sorted; read from the folder once per set. */
  list(): string[] {
    this.names ??= hbsNames(this.dir).filter((name) => TEMPLATE_NAME.test(name));
    return [...this.names];
  }

  has(name: string): boolean {
    return TEMPLATE_NAME.test(name) && (this.cache.has(name) || this.list().includes(name));
  }

  /** The template `name`, compiled once and cached. */
  get(name: string): LoadedTemplate {
    const cached = this.cache.get(name);
    if (cached) return cached;
    if (!this.has(name)) {
      const names = this.list();
      const found = names.length ? `templates found: ${names.join(', ')}` : `${this.dir} has no .hbs templates`;
      // An invalid name is not echoed: it may be anything a CSV cell held.
      if (!TEMPLATE_NAME.test(name)) {
        throw new UsageError('invalid template name (letters, digits, "-" and "_", at most 64, no ".hbs")', found);
      }
      throw new UsageError(`no template "${name}" in ${this.dir}`, found);
    }
    const loaded = this.compile(name);
    this.cache.set(name, loaded);
    return loaded;
  }

  /**
   * The files the template `name` was made from, as read: the template, its partials (followed
   * transitively) and its stylesheets, each by its path within the folder (`/`-separated) and the
   * sha256 of its bytes. Loads the template if it is not yet.
   */
  sources(name: string): TemplateSource[] {
    this.get(name);
    return (this.sourceFiles.get(name) ?? []).map((src) => ({ path: relative(this.dir, src.file).split(sep).join('/'), sha256: src.sha256 }));
  }

  private loadPartials(): void {
    const folder = join(this.dir, 'partials');
    for (const name of hbsNames(folder)) {
      const src = readSource(join(folder, `${name}.hbs`), this.dir);
      const { analysis, compiled, ast } = this.check(src);
      this.hb.registerPartial(name, compiled);
      this.partials.set(name, { src, analysis, ast });
    }
    for (const [name, partial] of this.partials) this.closure(partial.analysis, name);
  }

  /** Read checks shared by templates and partials: imports, syntax, constructs; then compile. */
  private check(src: SourceFile): { analysis: FileAnalysis; compiled: Handlebars.TemplateDelegate; ast: hbs.AST.Program } {
    refuseStylesheetImports(src);
    const ast = parseTemplate(this.hb, src.text, src.file);
    const analysis = analyzeTemplate(ast, src.file);
    try {
      this.hb.precompile(ast, COMPILE_OPTIONS); // surfaces compiler errors now, not on the first row
    } catch (err) {
      const e = err as Error & { lineNumber?: number };
      throw new TemplateError({ file: src.file, line: e.lineNumber }, String(e.message).replace(/ - \d+:\d+$/, ''));
    }
    return { analysis, compiled: this.hb.compile(ast, COMPILE_OPTIONS), ast };
  }

  /** The partials a file calls, transitively; refuses missing partials and loops. */
  private closure(start: FileAnalysis, self?: string): Partial[] {
    const done = new Map<string, Partial>();
    const visit = (from: FileAnalysis, trail: string[]) => {
      for (const call of from.partials) {
        const partial = this.partials.get(call.name);
        const at = { file: from.file, line: call.line };
        if (!partial) {
          const names = [...this.partials.keys()].sort();
          const folder = join(this.dir, 'partials');
          const hint = names.length ? `partials in ${folder}: ${names.join(', ')}` : `${folder} holds no .hbs partials`;
          throw new TemplateError(at, `partial "${call.name}" not found`, hint);
        }
        if (trail.includes(call.name)) {
          throw new TemplateError(at, `partials call each other in a loop: ${[...trail, call.name].join(' → ')}`);
        }
        if (done.has(call.name)) continue;
        visit(partial.analysis, [...trail, call.name]);
        done.set(call.name, partial);
      }
    };
    visit(start, self === undefined ? [] : [self]);
    return [...done.values()];
  }

  private compile(name: string): LoadedTemplate {
    const src = readSource(join(this.dir, `${name}.hbs`), this.dir);
    const { analysis, compiled, ast } = this.check(src);
    const partials = this.closure(analysis);
    const files = [analysis, ...partials.map((p) => p.analysis)];

    const fields = new Map<string, FieldUse>();
    const callSites = new Map<string, string | null>();
    for (const file of files) {
      for (const [field, use] of file.fields) {
        const seen = fields.get(field);
        if (seen && seen.parts.join('\u0000') !== use.parts.join('\u0000')) {
          const other = `"${seen.original}" (${seen.file}, line ${seen.line})`;
          const problem = `"${use.original}" and ${other} both mean field "${field}"`;
          throw new TemplateError({ file: use.file, line: use.line }, problem, 'rename one of them');
        }
        if (seen) seen.required ||= use.required;
        else fields.set(field, { ...use, parts: [...use.parts] });
      }
      for (const [at, field] of file.callSites) {
        callSites.set(at, callSites.has(at) && callSites.get(at) !== field ? null : field);
      }
      for (const image of file.images) this.checkImage(file.file, image);
    }
    checkFieldShapes(fields);
    const partial = (n: string) => this.partialAst(n);
    const checks = analyzeContexts({ ast, file: src.file, partial });

    const ownCss = readOptional(join(this.dir, `${name}.css`), this.dir);
    if (ownCss) checkCss(ownCss);
    const styles = [this.sharedCss, ownCss].filter((s): s is SourceFile => s !== undefined);
    this.sourceFiles.set(name, [src, ...partials.map((p) => p.src), ...styles]);
    const warnings = remoteImageWarnings(name, [src, ...partials.map((p) => p.src), ...styles]);
    const css = styles.map((s) => s.text).join('\n');
    const required = new Set([...fields].filter(([, use]) => use.required).map(([field]) => field));
    const once = inlineOnce({ hb: this.hb, ast, file: src.file, css, required, options: COMPILE_OPTIONS, partial });
    return loadedTemplate({ name, file: src.file, fields, callSites, warnings, css, compiled, once, checks });
  }

  private partialAst(name: string): { ast: hbs.AST.Program; file: string } {
    const partial = this.partials.get(name);
    if (!partial) throw new Error(`partial "${name}" not found`); // found by closure() already
    return { ast: partial.ast, file: partial.src.file };
  }

  /** An image named by a literal path must exist and be inside the folder, checked up front. */
  private checkImage(file: string, image: { path: string; line: number }): void {
    try {
      this.images.dataUri(image.path);
    } catch (err) {
      if (!(err instanceof HelperError)) throw err;
      throw new TemplateError({ file, line: image.line }, `${err.message}: "${image.path}"`);
    }
  }
}
