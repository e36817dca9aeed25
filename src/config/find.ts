/**
 * Where the project config file is: `canvas-letters.config.json` in the working folder or the
 * nearest folder above it, up to the filesystem root. It is read as the CSV and `.env` are: a
 * symlink to a regular file is followed (the tool only reads it), anything else that is not a
 * regular file (a folder, a FIFO, a device) is refused before it is opened, and the file is
 * opened without blocking and checked again on its descriptor.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { describeKind, lstatOrUndefined } from '../fsutil.js';
import { showName } from '../escape.js';

export const CONFIG_FILE = 'canvas-letters.config.json';

/** Larger than any config file a person writes: a bigger one is not a config file. */
const MAX_BYTES = 1024 * 1024;

/** The nearest `canvas-letters.config.json` from `cwd` upward (absolute), or undefined when there is none. */
export function findConfigFile(cwd: string = process.cwd()): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const file = join(dir, CONFIG_FILE);
    if (lstatOrUndefined(file) !== undefined) return file;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** How messages name the config file: relative to the working folder (`../canvas-letters.config.json`). */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const rel = relative(resolve(cwd), file);
  return showName(rel === '' ? file : rel);
}

/** The text of the config file (without a byte-order mark). Throws UsageError when it cannot be read as a file. */
export function readConfigFile(file: string, cwd: string = process.cwd()): string {
  const shown = displayPath(file, cwd);
  const refuse = (why: string, hint: string) => new UsageError(`${shown}: ${why}`, hint);
  let fd: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw refuse(describeKind(st), `make ${CONFIG_FILE} a regular file, or remove it`);
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw refuse(readProblem(err), `make ${CONFIG_FILE} a readable file, or remove it`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse(describeKind(st), `make ${CONFIG_FILE} a regular file, or remove it`);
    if (st.size > MAX_BYTES) throw refuse(`is ${st.size} bytes, too large for a config file`, 'a config file holds a few settings and jobs');
    return readFileSync(fd, 'utf8').replace(/^\uFEFF/, '');
  } finally {
    closeSync(fd);
  }
}

function readProblem(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ELOOP':
      return 'cannot be read (a broken symbolic link?)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    default:
      return `cannot be read (${(err as NodeJS.ErrnoException | undefined)?.code ?? 'error'})`;
  }
}
