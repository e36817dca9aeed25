/**
 * `canvas-letters init [dir]`: write a working starting project, then print the files written and
 * skipped and the next three commands to run. A path in the way (a symlink, a file where a folder
 * goes) refuses the run before anything is written: InitRefusedError, exit 2, printed by main.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { showName } from '../escape.js';
import { shellWord } from './shared.js';

/** Write the starter project into `dir` and say what was written and what to run next. */
export async function runInit(dir: string): Promise<number> {
  const { initProject } = await import('../init/index.js');
  const result = initProject(dir);
  const out = (line = '') => process.stdout.write(line + '\n');
  out(`${result.createdDir ? 'made' : 'set up'} ${showName(result.dir)}${result.createdDir ? ' and set it up' : ''}:`);
  for (const file of result.written) out(`  wrote    ${showName(file)}`);
  for (const file of result.skipped) out(`  skipped  ${showName(file)} (already there: kept as it is)`);
  const total = result.written.length + result.skipped.length;
  out(
    result.written.length === 0
      ? `every file was skipped: all ${total} were already there (init never overwrites a file)`
      : `${result.written.length} of ${total} files written${result.skipped.length ? `, ${result.skipped.length} skipped (init never overwrites a file)` : ''}`,
  );
  out();
  out('Next:');
  for (const line of nextCommands(dir, result.dir)) out(`  ${line}`);
  return 0;
}

/** `templates`, `preview`, and `sandbox` + `send`, from the folder the user is in. */
function nextCommands(given: string, abs: string): string[] {
  // Run through npx (the package installed in a folder, not globally): say npx too.
  const bin = process.env.npm_command === 'exec' ? 'npx canvas-letters' : 'canvas-letters';
  const env = existsSync(join(abs, '.env'))
    ? `with CANVAS_* in your .env pointing at it (see .env.example): ${bin} send patients.csv --job letter`
    : `cp .env.example .env && ${bin} send patients.csv --job letter`;
  return [
    ...(relative(process.cwd(), abs) === '' ? [] : [`cd ${showName(shellWord(given))}`]),
    `${bin} templates`,
    `${bin} preview patients.csv --job letter`,
    `${bin} sandbox --known-keys   (in another terminal), then: ${env}`,
  ];
}
