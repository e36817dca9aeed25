/**
 * Reading and checking the files of a templates folder: templates, partials, stylesheets.
 *
 * Everything is read when the folder is loaded or a template is first used, never per row.
 * Stylesheet imports are refused (their styles would vanish when the letter is inlined) and
 * remote images become warnings that name the template and the file.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TemplateError } from '../errors.js';
import { findRemoteImages, findStylesheetImports } from './inline.js';
import { resolveInside } from './inside.js';
import { scriptInCss } from './safety.js';

/** A file as read from the templates folder. */
export interface SourceFile {
  file: string;
  text: string;
  /** sha256 (hex) of the file's bytes as read. */
  sha256: string;
}

const IMPORT_HINT =
  'linked and imported stylesheets are not inlined, so their styles would be lost: ' +
  'put the rules in styles.css, <template>.css or a <style> block';

const OUTSIDE_HINT = 'copy the file into the templates folder instead of linking to it';

/**
 * Read a UTF-8 text file of the templates folder `root`, without a leading byte-order mark.
 * The file must resolve (through symlinks) to a file inside `root`: the resolved path is read.
 */
export function readSource(file: string, root: string): SourceFile {
  const found = resolveInside(root, file);
  if ('problem' in found) {
    if (found.problem === 'outside') {
      throw new TemplateError({ file }, 'leads outside the templates folder (a symlink?)', OUTSIDE_HINT);
    }
    throw new TemplateError({ file }, 'cannot be read (a broken symlink?)');
  }
  if (!statSync(found.real).isFile()) throw new TemplateError({ file }, 'is not a file');
  const bytes = readFileSync(found.real);
  return { file, text: bytes.toString('utf8').replace(/^\uFEFF/, ''), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Read an optional file of the folder `root`: undefined if there is nothing at that path. */
export function readOptional(file: string, root: string): SourceFile | undefined {
  try {
    lstatSync(file);
  } catch {
    return undefined;
  }
  return readSource(file, root);
}

/** Names (without extension) of the `*.hbs` files directly inside `dir`, sorted. */
export function hbsNames(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name.endsWith('.hbs') && isFile(join(dir, e.name)))
    .map((e) => basename(e.name, '.hbs'))
    .sort();
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Refuse `<link rel="stylesheet">` and `@import` in a template, partial or CSS file. */
export function refuseStylesheetImports(src: SourceFile): void {
  const [first] = findStylesheetImports(src.text);
  if (first) {
    const problem = `stylesheet import not supported: ${first.what}`;
    throw new TemplateError({ file: src.file, line: first.line }, problem, IMPORT_HINT);
  }
}

/** Check a CSS file: no imports, no script, and nothing that would end the <style> it is placed in. */
export function checkCss(src: SourceFile): void {
  refuseStylesheetImports(src);
  const end = /<\/style/i.exec(src.text);
  if (end) {
    const line = src.text.slice(0, end.index).split('\n').length;
    throw new TemplateError({ file: src.file, line }, 'a stylesheet cannot contain "</style"');
  }
  const script = scriptInCss(src.text);
  if (script) {
    const line = src.text.slice(0, script.index).split('\n').length;
    throw new TemplateError({ file: src.file, line }, `a stylesheet cannot contain ${script.what}`, 'letters never carry script');
  }
}

/** One warning per remote image found in the files a template uses. */
export function remoteImageWarnings(template: string, files: readonly SourceFile[]): string[] {
  const warnings: string[] = [];
  for (const src of files) {
    for (const url of findRemoteImages(src.text)) {
      warnings.push(
        `template ${template}: remote image ${url} in ${src.file} is not embedded in the letter; ` +
          'copy it into the templates folder and use {{image "path"}}',
      );
    }
  }
  return warnings;
}
