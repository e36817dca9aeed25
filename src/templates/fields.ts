/**
 * Syntax-tree analysis of one template or partial file (Handlebars.parse output).
 *
 * It refuses what the letter model does not support (unescaped output, each/with, dynamic or
 * block partials, decorators, @data and ../ paths, unknown helpers) with a TemplateError naming
 * file and line, and it collects the merge fields the file uses: required when printed or given
 * to a helper, optional when only tested by #if/#unless or only given to `default` as its value.
 * A field printed only where its own #if has tested it (`{{#if fax}}Fax: {{fax}}{{/if}}`) stays
 * optional. Partials are not followed here: the caller merges the analyses of the partials.
 */
import type Handlebars from 'handlebars';
import { TemplateError, type TemplateErrorContext } from '../errors.js';
import { showName } from '../escape.js';
import { DATE_ORDERS, isDateFormat, isDateOrder, isValidLocale } from './dates.js';
import { BUILTIN_HELPERS, HELPER_SPECS, isOwnHelper, type OwnHelper } from './helpers.js';

type Node = hbs.AST.Node;
type Program = hbs.AST.Program;
type Path = hbs.AST.PathExpression;
type Call = hbs.AST.MustacheStatement | hbs.AST.SubExpression;
/** Fields known to be non-empty where a statement runs: inside {{#if x}}, or {{else}} of {{#unless x}}. */
type Guards = ReadonlySet<string>;

export interface FieldUse {
  /** Path segments; the field name is `parts.join('.')`. */
  parts: string[];
  /** The path as written in the template, e.g. `patient.[first name]`. */
  original: string;
  required: boolean;
  /** Where the field is first used (for error messages). */
  file: string;
  line: number;
}

export interface FileAnalysis {
  file: string;
  fields: Map<string, FieldUse>;
  /** `{{> name}}` calls, in order. */
  partials: { name: string; line: number }[];
  /**
   * Every helper call: `line:column` of the call → the field given as its first argument, or null
   * when that argument is not a plain field (a literal, a subexpression, nothing). Calls of other
   * files at the same place are told apart when the analyses are merged (null: ambiguous).
   */
  callSites: Map<string, string | null>;
  /** String literals given to `image`, to check when the template is loaded. */
  images: { path: string; line: number }[];
}

export function parseTemplate(hb: typeof Handlebars, source: string, file: string): Program {
  try {
    return hb.parse(source);
  } catch (err) {
    const e = err as Error & { lineNumber?: number };
    const text = String(e?.message ?? err);
    const parse = /^Parse error on line (\d+):[\s\S]*\n(.*)$/.exec(text);
    if (parse) throw new TemplateError({ file, line: Number(parse[1]) }, `syntax error: ${parse[2]}`);
    const problem = text.replace(/ - \d+:\d+$/, '');
    throw new TemplateError({ file, line: e?.lineNumber }, `syntax error: ${problem}`);
  }
}

/**
 * `{{First Name}}`: Handlebars reads a mustache of several words as a call of the first word,
 * with the rest as parameters. When that helper is unknown, the words were most likely a column
 * name with spaces: `words` holds them, and the hint says how to write the column instead.
 * validateBatch names the CSV's column when it has one of that name (withColumn).
 */
export class UnknownHelperError extends TemplateError {
  constructor(
    readonly at: TemplateErrorContext,
    readonly helper: string,
    /** The mustache's words, when every part was a plain name (`First`, `Name`). */
    readonly words: readonly string[] | undefined,
    column?: string,
  ) {
    super(at, `unknown helper "${helper}"`, unknownHelperHint(helper, words, column));
  }

  /** The same error, naming the CSV's column `column` (the words joined). */
  withColumn(column: string): UnknownHelperError {
    return new UnknownHelperError(this.at, this.helper, this.words, column);
  }
}

function unknownHelperHint(helper: string, words: readonly string[] | undefined, column: string | undefined): string {
  const known = `known helpers: ${Object.keys(HELPER_SPECS).join(', ')}`;
  if (!words) return known;
  const joined = words.join(' ');
  const field = fieldNameFor(words);
  const fix = `write {{[${joined}]}}, or --map ${field}="${joined}" and {{${field}}}`;
  const lead = `{{${joined}}} reads as helper "${helper}" with ${words.length === 2 ? 'a parameter' : 'parameters'}`;
  const why = column === undefined ? `for a column named "${joined}" ${fix}` : `the CSV has a column "${column}": ${fix}`;
  return showName(`${lead}; ${why} (${known})`);
}

/** A camelCase field name for a column's words: `First Name` → `firstName`. */
function fieldNameFor(words: readonly string[]): string {
  const parts = words.map((w) => w.replace(/[^\p{L}\p{N}_]/gu, '')).filter((w) => w !== '');
  const name = parts.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1))).join('');
  return name === '' ? '<field>' : name;
}

const HTML_HINT = 'values from the CSV are always escaped; HTML belongs in the template, not in the CSV';
const FLAT_HINT = 'CSV values are flat strings: use {{field}}, {{#if field}} and {{#unless field}}';

/** Check one file's syntax tree and collect what it uses (see the file comment). Throws TemplateError. */
export function analyzeTemplate(ast: Program, file: string): FileAnalysis {
  const analyzer = new Analyzer(file);
  analyzer.program(ast, new Set());
  return analyzer.out;
}

/** One walk over a file's syntax tree: each method handles one kind of node and records into `out`. */
class Analyzer {
  readonly out: FileAnalysis;

  constructor(private readonly file: string) {
    this.out = { file, fields: new Map(), partials: [], callSites: new Map(), images: [] };
  }

  /** Refuse the construct at `node`: a TemplateError naming the file and the node's line. */
  readonly fail = (node: Node, problem: string, hint?: string): never => {
    throw new TemplateError({ file: this.file, line: node.loc?.start.line }, problem, hint);
  };

  program(p: Program, guards: Guards): void {
    p.body.forEach((node) => this.statement(node, guards));
  }

  private statement(node: Node, guards: Guards): void {
    switch (node.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        return;
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        if (!m.escaped) this.fail(m, 'unescaped output ({{{...}}} or {{&...}}) is not allowed', HTML_HINT);
        return this.call(m, guards);
      }
      case 'BlockStatement':
        return this.block(node as hbs.AST.BlockStatement, guards);
      case 'PartialStatement':
        return this.partial(node as hbs.AST.PartialStatement);
      case 'PartialBlockStatement':
        return this.fail(node, 'partial blocks {{#> ...}} are not supported', 'write {{> name}} only');
      case 'DecoratorBlock':
        return this.fail(node, 'inline partials and decorators {{#* ...}} are not supported', 'use partials/<name>.hbs');
      case 'Decorator':
        return this.fail(node, 'decorators {{* ...}} are not supported');
      default:
        return this.fail(node, `unsupported construct (${node.type})`);
    }
  }

  /** `{{> name}}`: recorded for the caller to follow; anything more than the name is refused. */
  private partial(p: hbs.AST.PartialStatement): void {
    if (p.name.type === 'SubExpression') return this.fail(p, 'dynamic partials {{> (...)}} are not supported');
    if (p.params.length > 0 || (p.hash?.pairs.length ?? 0) > 0) {
      return this.fail(p, 'partials cannot be given a context or parameters', 'write {{> name}} only');
    }
    const name = p.name as Path | hbs.AST.StringLiteral;
    const partial = String(name.type === 'PathExpression' ? name.original : name.value);
    this.out.partials.push({ name: partial, line: p.loc.start.line });
  }

  /** `{{#if x}}` / `{{#unless x}}`: x is optional; inside the branch where x is non-empty, x is a guard. */
  private block(node: hbs.AST.BlockStatement, guards: Guards): void {
    const name = node.path.original;
    if (name === 'each' || name === 'with') return this.fail(node, `{{#${name}}} is not supported`, FLAT_HINT);
    if (name !== 'if' && name !== 'unless') {
      const open = node.program ? '#' : '^';
      return this.fail(node, `{{${open}${name}}} blocks are not supported (only #if and #unless)`, FLAT_HINT);
    }
    if (!node.program) return this.fail(node, `{{^${name}}} is not supported`, 'use {{#unless field}}');
    if (node.program.blockParams?.length) return this.fail(node, 'block parameters (as |x|) are not supported', FLAT_HINT);
    if (node.params.length !== 1 || (node.hash?.pairs.length ?? 0) > 0) {
      return this.fail(node, `{{#${name}}} takes exactly one field to test`);
    }
    const condition = node.params[0]!;
    this.expression(condition, false, guards);
    // Where the condition is known to be non-empty, printing it does not make it required.
    const tested = condition.type === 'PathExpression' ? (condition as Path).parts.join('.') : undefined;
    const filled = tested === undefined ? guards : new Set([...guards, tested]);
    this.program(node.program, name === 'if' ? filled : guards);
    if (node.inverse) this.program(node.inverse, name === 'unless' ? filled : guards);
  }

  /** A mustache or subexpression: a bare field, or a call of one of our helpers (checked, its arguments recorded). */
  private call(node: Call, guards: Guards): void {
    const name = this.helperName(node);
    const hashPairs = node.hash?.pairs ?? [];
    const bare = node.params.length === 0 && hashPairs.length === 0;
    if (name === undefined || (!isOwnHelper(name) && !(BUILTIN_HELPERS as readonly string[]).includes(name))) {
      if (bare && node.type === 'MustacheStatement') return this.expression(node.path, true, guards);
      throw new UnknownHelperError({ file: this.file, line: node.loc?.start.line }, (node.path as Path).original, plainWords(node));
    }
    if (!isOwnHelper(name)) {
      const extra = name === 'log' ? ' (it would write patient data to the console)' : '';
      return this.fail(node, `{{${name}}} is not supported here${extra}`, FLAT_HINT);
    }
    checkHelperCall(node, name, this.fail);
    node.params.forEach((param, i) => this.expression(param, !(name === 'default' && i === 0), guards));
    for (const pair of hashPairs) this.expression(pair.value, true, guards);
    this.recordCall(node, name);
  }

  /** Where a helper's first argument is a field (its call site), and the literal paths given to `image`. */
  private recordCall(node: Call, name: OwnHelper): void {
    const first = node.params[0];
    const field = first?.type === 'PathExpression' ? (first as Path).parts.join('.') : null;
    this.out.callSites.set(`${node.loc.start.line}:${node.loc.start.column}`, field);
    if (name === 'image' && first?.type === 'StringLiteral') {
      this.out.images.push({ path: (first as hbs.AST.StringLiteral).value, line: first.loc.start.line });
    }
  }

  /** The name a call may be a helper by: a one-part path not written as `this.x` or `./x`. */
  private helperName(node: Call): string | undefined {
    const path = node.path;
    if (path.type !== 'PathExpression') return this.fail(node, 'a literal cannot be used as a field or helper name');
    const p = path as Path;
    this.checkPath(p);
    const name = p.parts.join('.');
    // `this.x` and `./x` are always fields, never helpers.
    const scoped = /^(this\b|\.\/)/.test(p.original);
    return !scoped && p.parts.length === 1 ? name : undefined;
  }

  /** A path or literal given to a helper or tested by #if; subexpressions are helper calls. */
  private expression(node: Node, required: boolean, guards: Guards): void {
    if (node.type === 'SubExpression') return this.call(node as hbs.AST.SubExpression, guards);
    if (node.type !== 'PathExpression') return; // string, number, boolean, null, undefined literals
    const path = node as Path;
    this.checkPath(path);
    const name = path.parts.join('.');
    if (isOwnHelper(name) || (BUILTIN_HELPERS as readonly string[]).includes(name)) {
      this.fail(path, `"${name}" is a helper; to pass its result write (${name} ...)`);
    }
    this.addField(path, required && !guards.has(name));
  }

  /** Refuse @data, ../ and empty paths: CSV values are flat. */
  private checkPath(path: Path): void {
    if (path.data) this.fail(path, `@${path.parts.join('.')} is not supported`, FLAT_HINT);
    if (path.depth > 0) this.fail(path, `"${path.original}": ../ paths are not supported`, FLAT_HINT);
    if (path.parts.length === 0) this.fail(path, `{{${path.original}}} is not supported (name a field)`, FLAT_HINT);
  }

  /** Record a field (required once any use requires it); two spellings of one name are refused. */
  private addField(path: Path, required: boolean): void {
    const name = path.parts.join('.');
    const seen = this.out.fields.get(name);
    if (seen && seen.parts.join('\u0000') !== path.parts.join('\u0000')) {
      this.fail(path, `"${path.original}" and "${seen.original}" both mean field "${name}"`, 'rename one of them');
    }
    if (seen) seen.required ||= required;
    else {
      const line = path.loc.start.line;
      this.out.fields.set(name, { parts: [...path.parts], original: path.original, required, file: this.file, line });
    }
  }
}

/** The words of `{{First Name}}` when the call is only plain names (no hash, no literals, no dots). */
function plainWords(node: Call): string[] | undefined {
  if (node.type !== 'MustacheStatement' || (node.hash?.pairs.length ?? 0) > 0) return undefined;
  const all = [node.path, ...node.params];
  const plain = all.every((p) => p.type === 'PathExpression' && (p as Path).parts.length === 1 && (p as Path).original === (p as Path).parts[0]);
  return plain ? all.map((p) => (p as Path).original) : undefined;
}

/** Check a call of one of our helpers: argument count, hash names, literal formats and locales. */
function checkHelperCall(node: Call, name: OwnHelper, fail: (n: Node, problem: string, hint?: string) => never): void {
  const spec = HELPER_SPECS[name];
  const n = node.params.length;
  if (n < spec.min || n > spec.max) {
    const want = spec.min === spec.max ? `${spec.min}` : `${spec.min} to ${spec.max}`;
    fail(node, `${name} takes ${want} argument${spec.max === 1 ? '' : 's'}, got ${n}`);
  }
  for (const pair of node.hash?.pairs ?? []) {
    if (!(spec.hash as readonly string[]).includes(pair.key)) fail(pair, `${name} has no option "${pair.key}"`);
    if (pair.value.type !== 'StringLiteral') continue;
    const literal = pair.value as hbs.AST.StringLiteral;
    const value = literal.value;
    if (pair.key === 'locale' && !isValidLocale(value)) fail(pair, `${name}: locale "${literal.value}" is not a valid language tag`);
    if (pair.key === 'input' && !isDateOrder(value)) {
      fail(pair, `${name}: input "${literal.value}" is not a date order`, `write input="${DATE_ORDERS.join('" or input="')}" (YYYY-MM-DD is always read)`);
    }
  }
  const format = name === 'today' ? node.params[0] : name === 'formatDate' ? node.params[1] : undefined;
  if (format?.type === 'StringLiteral' && !isDateFormat((format as hbs.AST.StringLiteral).value)) {
    const value = (format as hbs.AST.StringLiteral).value;
    fail(format, `${name}: unknown format "${value}" (use long, short, medium or iso)`);
  }
}
