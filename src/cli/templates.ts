/** `canvas-letters templates`: list the templates and the merge fields each one uses. */
import { resolve } from 'node:path';
import { say } from './shared.js';

export async function runTemplates(flags: { templatesDir: string; json?: boolean }): Promise<number> {
  const { TemplateSet } = await import('../templates/index.js');
  const set = TemplateSet.load(resolve(flags.templatesDir));
  const list = set.list().map((name) => {
    const t = set.get(name);
    return {
      name,
      file: t.file,
      required: t.fields.required,
      optional: t.fields.optional,
      inlining: t.inlining,
      ...(t.inliningReason ? { inliningReason: t.inliningReason } : {}),
      warnings: t.warnings,
    };
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return 0;
  }
  if (list.length === 0) say(`no templates in ${set.dir} (add <name>.hbs files)`);
  for (const t of list) {
    process.stdout.write(`${t.name}  (${t.file})\n`);
    process.stdout.write(`  required: ${t.required.join(', ') || '(none)'}\n`);
    process.stdout.write(`  optional: ${t.optional.join(', ') || '(none)'}\n`);
    process.stdout.write(`  css inlined: ${t.inlining === 'once' ? 'once, into the template' : `per letter (${t.inliningReason ?? 'the merge decides the structure'})`}\n`);
    for (const w of t.warnings) process.stdout.write(`  warning: ${w}\n`);
  }
  return 0;
}
