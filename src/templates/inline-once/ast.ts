/**
 * The Handlebars side of inlining a template once.
 *
 * `flatten` turns a parsed template into a tree of static HTML and Handlebars statements, with
 * its partials expanded in place (so a selector like `.signature .name` sees the whole letter)
 * and comments dropped (they print nothing). `serialize` writes that tree as one HTML document
 * with a placeholder for every statement: `{{x}}`, and the start, `{{else}}` and end of every
 * block. After juice has inlined that document, `rebuild` puts the inlined static HTML back
 * between the same statements, giving a new syntax tree to compile.
 *
 * The static HTML is taken after Handlebars' whitespace control (standalone lines and `~`
 * already stripped), which is exactly the text a letter is made of.
 */
import { basename } from 'node:path';

type Program = hbs.AST.Program;
type Statement = hbs.AST.Statement;
type Block = hbs.AST.BlockStatement;
type Mustache = hbs.AST.MustacheStatement;

/** Why a template cannot be inlined once (it is then inlined per letter). */
export class NotOnce extends Error {}

export type Item =
  | { kind: 'text'; text: string }
  | { kind: 'hole'; node: Mustache; label: string }
  | { kind: 'block'; node: Block; label: string; program: Item[]; inverse?: Item[] };

export interface Mark {
  kind: 'hole' | 'open' | 'else' | 'close';
  /** A block's three marks share it. */
  block: number;
  /** The statement always prints something (see `alwaysPrints` in serialize). */
  nonEmpty: boolean;
  /** The statement and where it is, for messages: `{{#if x}} (t.hbs, line 3)`. */
  label: string;
}

export interface PartialAst {
  ast: Program;
  file: string;
}

function path(node: hbs.AST.Expression): string {
  if (node.type === 'PathExpression') return (node as hbs.AST.PathExpression).original;
  if (node.type === 'StringLiteral') return JSON.stringify((node as hbs.AST.StringLiteral).value);
  return node.type === 'SubExpression' ? '(…)' : String((node as unknown as { original: unknown }).original);
}

function label(node: Mustache | Block, file: string): string {
  const args = node.params.map(path).join(' ');
  const text = `${node.type === 'BlockStatement' ? '#' : ''}${path(node.path)}${args ? ` ${args}` : ''}`;
  return `{{${text}}} (${basename(file)}, line ${node.loc.start.line})`;
}

/** The statements of `program` (a private copy) with partials expanded and comments dropped. */
export function flatten(program: Program, file: string, partial: (name: string) => PartialAst): Item[] {
  const out: Item[] = [];
  const text = (value: string) => {
    const last = out[out.length - 1];
    if (last?.kind === 'text') last.text += value;
    else if (value) out.push({ kind: 'text', text: value });
  };
  for (const node of program.body) {
    switch (node.type) {
      case 'ContentStatement':
        text((node as hbs.AST.ContentStatement).value);
        break;
      case 'CommentStatement':
        break;
      case 'MustacheStatement':
        out.push({ kind: 'hole', node: node as Mustache, label: label(node as Mustache, file) });
        break;
      case 'BlockStatement': {
        const b = node as Block;
        const inverse = b.inverse ? flatten(b.inverse, file, partial) : undefined;
        out.push({ kind: 'block', node: b, label: label(b, file), program: flatten(b.program, file, partial), inverse });
        break;
      }
      case 'PartialStatement': {
        const p = node as hbs.AST.PartialStatement & { indent?: string };
        const ref = p.name as hbs.AST.PathExpression | hbs.AST.StringLiteral;
        const name = String(ref.type === 'PathExpression' ? ref.original : ref.value);
        if (p.indent) {
          // Handlebars indents every line the partial prints, merged values included.
          throw new NotOnce(`{{> ${name}}} is indented (${basename(file)}, line ${p.loc.start.line})`);
        }
        const found = partial(name);
        for (const item of flatten(structuredClone(found.ast), found.file, partial)) {
          if (item.kind === 'text') text(item.text);
          else out.push(item);
        }
        break;
      }
      default:
        throw new NotOnce(`unexpected ${node.type} (${basename(file)}, line ${node.loc.start.line})`);
    }
  }
  return out;
}

/**
 * The document juice sees: static HTML with `token(i)` for the i-th mark; `marks` receives them.
 * `alwaysPrints` tells which `{{...}}` can never print "" (the rows it renders are checked first).
 */
export function serialize(
  items: Item[],
  token: (i: number) => string,
  marks: Mark[],
  alwaysPrints: (node: Mustache) => boolean = () => false,
): string {
  let html = '';
  let blocks = 0;
  const mark = (m: Mark) => {
    html += token(marks.length);
    marks.push(m);
  };
  const write = (list: Item[]) => {
    for (const item of list) {
      if (item.kind === 'text') html += item.text;
      else if (item.kind === 'hole') {
        mark({ kind: 'hole', block: -1, nonEmpty: alwaysPrints(item.node), label: item.label });
      } else {
        const block = blocks++;
        mark({ kind: 'open', block, nonEmpty: false, label: item.label });
        write(item.program);
        if (item.inverse) {
          mark({ kind: 'else', block, nonEmpty: false, label: item.label });
          write(item.inverse);
        }
        mark({ kind: 'close', block, nonEmpty: false, label: item.label });
      }
    }
  };
  write(items);
  return html;
}

const NOWHERE = { source: '', start: { line: 0, column: 0 }, end: { line: 0, column: 0 } };

/** Statements for `items` with `gaps` (the inlined HTML between marks, in order) as their content. */
export function rebuild(items: Item[], gaps: Iterator<string>): Statement[] {
  const body: Statement[] = [];
  const gap = () => {
    const next = gaps.next();
    if (next.done) throw new NotOnce('the inlined template lost a statement');
    if (next.value === '') return;
    // Flagged as already stripped, so whitespace control leaves it alone when it is compiled.
    const content = { type: 'ContentStatement', value: next.value, original: next.value, loc: NOWHERE };
    body.push(Object.assign(content, { leftStripped: true, rightStripped: true }));
  };
  for (const item of items) {
    if (item.kind === 'text') continue;
    gap();
    if (item.kind === 'block') {
      item.node.program.body = rebuild(item.program, gaps);
      if (item.inverse) {
        const inverse = item.node.inverse;
        inverse.body = rebuild(item.inverse, gaps);
        const chained = (inverse as Program & { chained?: boolean }).chained;
        if (chained && inverse.body.length !== 1) throw new NotOnce(`${item.label}: {{else if}} gained content`);
      }
    }
    body.push(item.node);
  }
  gap();
  return body;
}

/** Every content value of a tree, in order (to check that whitespace control changed nothing). */
export function contentValues(program: Program, out: string[] = []): string[] {
  for (const node of program.body) {
    if (node.type === 'ContentStatement') out.push((node as hbs.AST.ContentStatement).value);
    if (node.type === 'BlockStatement') {
      const b = node as Block;
      contentValues(b.program, out);
      if (b.inverse) contentValues(b.inverse, out);
    }
  }
  return out;
}
