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
import { TemplateError } from '../errors.js';
import { isDateFormat, isValidLocale } from './dates.js';
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
  /** Helper calls whose first argument is a field: `line:column` of the call → field name. */
  callSites: Map<string, string>;
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

const HTML_HINT = 'values from the CSV are always escaped; HTML belongs in the template, not in the CSV';
const FLAT_HINT = 'CSV values are flat strings: use {{field}}, {{#if field}} and {{#unless field}}';

export function analyzeTemplate(ast: Program, file: string): FileAnalysis {
  const out: FileAnalysis = { file, fields: new Map(), partials: [], callSites: new Map(), images: [] };
  const fail = (node: Node, problem: string, hint?: string): never => {
    throw new TemplateError({ file, line: node.loc?.start.line }, problem, hint);
  };

  const addField = (path: Path, required: boolean) => {
    const name = path.parts.join('.');
    const seen = out.fields.get(name);
    if (seen && seen.parts.join('\u0000') !== path.parts.join('\u0000')) {
      fail(path, `"${path.original}" and "${seen.original}" both mean field "${name}"`, 'rename one of them');
    }
    if (seen) seen.required ||= required;
    else {
      const line = path.loc.start.line;
      out.fields.set(name, { parts: [...path.parts], original: path.original, required, file, line });
    }
  };

  const checkPath = (path: Path) => {
    if (path.data) fail(path, `@${path.parts.join('.')} is not supported`, FLAT_HINT);
    if (path.depth > 0) fail(path, `"${path.original}": ../ paths are not supported`, FLAT_HINT);
    if (path.parts.length === 0) fail(path, `{{${path.original}}} is not supported (name a field)`, FLAT_HINT);
  };

  /** A path or literal given to a helper or tested by #if; subexpressions are helper calls. */
  const expression = (node: Node, required: boolean, guards: Guards): void => {
    if (node.type === 'SubExpression') return call(node as hbs.AST.SubExpression, guards);
    if (node.type !== 'PathExpression') return; // string, number, boolean, null, undefined literals
    const path = node as Path;
    checkPath(path);
    const name = path.parts.join('.');
    if (isOwnHelper(name) || (BUILTIN_HELPERS as readonly string[]).includes(name)) {
      fail(path, `"${name}" is a helper; to pass its result write (${name} ...)`);
    }
    addField(path, required && !guards.has(name));
  };

  const helperName = (node: Call): string | undefined => {
    const path = node.path;
    if (path.type !== 'PathExpression') return fail(node, 'a literal cannot be used as a field or helper name');
    const p = path as Path;
    checkPath(p);
    const name = p.parts.join('.');
    // `this.x` and `./x` are always fields, never helpers.
    const scoped = /^(this\b|\.\/)/.test(p.original);
    return !scoped && p.parts.length === 1 ? name : undefined;
  };

  const call = (node: Call, guards: Guards): void => {
    const name = helperName(node);
    const hashPairs = node.hash?.pairs ?? [];
    const bare = node.params.length === 0 && hashPairs.length === 0;
    if (name === undefined || (!isOwnHelper(name) && !(BUILTIN_HELPERS as readonly string[]).includes(name))) {
      if (bare && node.type === 'MustacheStatement') return expression(node.path, true, guards);
      const known = `known helpers: ${Object.keys(HELPER_SPECS).join(', ')}`;
      return fail(node, `unknown helper "${(node.path as Path).original}"`, known);
    }
    if (!isOwnHelper(name)) {
      const extra = name === 'log' ? ' (it would write patient data to the console)' : '';
      return fail(node, `{{${name}}} is not supported here${extra}`, FLAT_HINT);
    }
    checkHelperCall(node, name, fail);
    node.params.forEach((param, i) => expression(param, !(name === 'default' && i === 0), guards));
    for (const pair of hashPairs) expression(pair.value, true, guards);
    const first = node.params[0];
    if (first?.type === 'PathExpression') {
      out.callSites.set(`${node.loc.start.line}:${node.loc.start.column}`, (first as Path).parts.join('.'));
    }
    if (name === 'image' && first?.type === 'StringLiteral') {
      out.images.push({ path: (first as hbs.AST.StringLiteral).value, line: first.loc.start.line });
    }
  };

  const block = (node: hbs.AST.BlockStatement, guards: Guards) => {
    const name = node.path.original;
    if (name === 'each' || name === 'with') return fail(node, `{{#${name}}} is not supported`, FLAT_HINT);
    if (name !== 'if' && name !== 'unless') {
      const open = node.program ? '#' : '^';
      return fail(node, `{{${open}${name}}} blocks are not supported (only #if and #unless)`, FLAT_HINT);
    }
    if (!node.program) return fail(node, `{{^${name}}} is not supported`, 'use {{#unless field}}');
    if (node.program.blockParams?.length) return fail(node, 'block parameters (as |x|) are not supported', FLAT_HINT);
    if (node.params.length !== 1 || (node.hash?.pairs.length ?? 0) > 0) {
      return fail(node, `{{#${name}}} takes exactly one field to test`);
    }
    const condition = node.params[0]!;
    expression(condition, false, guards);
    // Where the condition is known to be non-empty, printing it does not make it required.
    const tested = condition.type === 'PathExpression' ? (condition as Path).parts.join('.') : undefined;
    const filled = tested === undefined ? guards : new Set([...guards, tested]);
    program(node.program, name === 'if' ? filled : guards);
    if (node.inverse) program(node.inverse, name === 'unless' ? filled : guards);
  };

  const statement = (node: Node, guards: Guards) => {
    switch (node.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        return;
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        if (!m.escaped) fail(m, 'unescaped output ({{{...}}} or {{&...}}) is not allowed', HTML_HINT);
        return call(m, guards);
      }
      case 'BlockStatement':
        return block(node as hbs.AST.BlockStatement, guards);
      case 'PartialStatement': {
        const p = node as hbs.AST.PartialStatement;
        if (p.name.type === 'SubExpression') return fail(p, 'dynamic partials {{> (...)}} are not supported');
        if (p.params.length > 0 || (p.hash?.pairs.length ?? 0) > 0) {
          return fail(p, 'partials cannot be given a context or parameters', 'write {{> name}} only');
        }
        const name = p.name as Path | hbs.AST.StringLiteral;
        const partial = String(name.type === 'PathExpression' ? name.original : name.value);
        out.partials.push({ name: partial, line: p.loc.start.line });
        return;
      }
      case 'PartialBlockStatement':
        return fail(node, 'partial blocks {{#> ...}} are not supported', 'write {{> name}} only');
      case 'DecoratorBlock':
        return fail(node, 'inline partials and decorators {{#* ...}} are not supported', 'use partials/<name>.hbs');
      case 'Decorator':
        return fail(node, 'decorators {{* ...}} are not supported');
      default:
        return fail(node, `unsupported construct (${node.type})`);
    }
  };

  const program = (p: Program, guards: Guards) => p.body.forEach((node) => statement(node, guards));
  program(ast, new Set());
  return out;
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
    if (pair.value.type === 'StringLiteral' && !isValidLocale((pair.value as hbs.AST.StringLiteral).value)) {
      fail(pair, `${name}: locale "${(pair.value as hbs.AST.StringLiteral).value}" is not a valid language tag`);
    }
  }
  const format = name === 'today' ? node.params[0] : name === 'formatDate' ? node.params[1] : undefined;
  if (format?.type === 'StringLiteral' && !isDateFormat((format as hbs.AST.StringLiteral).value)) {
    const value = (format as hbs.AST.StringLiteral).value;
    fail(format, `${name}: unknown format "${value}" (use long, short, medium or iso)`);
  }
}
