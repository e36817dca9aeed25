/**
 * Files that hold patient data are created 0600 inside folders created 0700,
 * whatever the process umask says.
 */
import { chmodSync, closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Create a folder (and missing parents) as 0700. Folders that already existed keep their mode,
 * except `dir` itself, which is tightened to 0700 if this call created it.
 */
export function mkdirPrivate(dir: string): void {
  const abs = resolve(dir);
  const first = mkdirSync(abs, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  // mkdir's mode is filtered by the umask: set it explicitly on every folder we created.
  let d = abs;
  for (;;) {
    chmodSync(d, PRIVATE_DIR_MODE);
    if (d === first || !d.startsWith(first + sep)) break;
    d = dirname(d);
  }
}

/** Write a whole file as 0600 (created or truncated), creating its folder 0700 if missing. */
export function writePrivateFile(file: string, data: string | Uint8Array): void {
  mkdirPrivate(dirname(file));
  const fd = openSync(file, 'w', PRIVATE_FILE_MODE);
  try {
    writeFileSync(fd, data);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, PRIVATE_FILE_MODE);
}
