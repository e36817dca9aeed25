/**
 * The one check that a file of a templates folder (template, partial, stylesheet, image) is
 * really inside the folder: the path is resolved through every symlink (realpath), and the
 * result must still lie under the folder's own real path. A link that leads elsewhere, or a
 * `../` path, is refused by every caller the same way.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export type Inside = { real: string } | { problem: 'missing' | 'outside' };

/** Where `path` (absolute, or relative to `root`) really is, if that is inside `root`. */
export function resolveInside(root: string, path: string): Inside {
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(resolve(realRoot, path));
  } catch {
    return { problem: 'missing' };
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return { problem: 'outside' };
  return { real };
}
