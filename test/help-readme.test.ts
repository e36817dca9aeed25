/**
 * End-to-end: each command's --help and the README's options table for that command list the
 * same options, with the same defaults and the same required options; options that do nothing in a command are hidden from its
 * help and still accepted; every help ends with examples; send and watch name the environment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from './support/cli.js';

interface Listed {
  /** The option's long flags, e.g. ['--concurrency']. */
  flags: string[];
  /** Its default as shown: commander's `(default: x)`, or the README's default column. */
  defaults: string[];
  /** Its description, wrapped lines joined (help only). */
  description: string;
}

const LONG_FLAG = /--[a-z][a-z-]*/g;
const longFlags = (text: string) => [...text.matchAll(LONG_FLAG)].map((m) => m[0]).filter((f) => f !== '--help' && f !== '--version');
/** A default that is one value (a number, a path), not a sentence; quotes and backticks removed. */
const oneValue = (text: string) => {
  const v = text.trim().replace(/^[`"]|[`"]$/g, '');
  return /^\S+$/.test(v) && !['none', 'off', 'identity'].includes(v) ? v : undefined;
};

const help = (args: string[]) => {
  const r = runCli([...args, '--help']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

/** The entries of a help's "Options:" section, each option's wrapped lines joined. */
function helpOptions(text: string): Listed[] {
  const section = /\nOptions:\n([\s\S]*?)(?:\n\n|\n?$)/.exec(text)?.[1] ?? '';
  const entries: string[] = [];
  for (const line of section.split('\n')) {
    if (/^ {2}-/.test(line)) entries.push(line.trim());
    else entries[entries.length - 1] += ' ' + line.trim();
  }
  return entries
    .map((entry) => {
      const [term = '', description = ''] = entry.split(/\s{2,}(.*)/s);
      const shown = /\(default: ("[^"]*"|[^\s()]+)\)$/.exec(description)?.[1];
      return { flags: longFlags(term), defaults: shown ? [oneValue(shown) ?? shown] : [], description };
    })
    .filter((o) => o.flags.length > 0);
}

/** The command names the program's help lists (help itself aside). */
function commandNames(text: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|\n?$)/.exec(text)?.[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The rows of the first table under "### `<command> …` options", each split into cells. */
function readmeRows(command: string): string[][] {
  const heading = new RegExp(`^### \`${command}\\b[^\`]*\` options$`, 'm').exec(README);
  expect(heading, `README has a "### \`${command} …\` options" section`).not.toBeNull();
  const rest = README.slice(heading!.index + heading![0].length);
  const section = rest.slice(0, rest.search(/^#{2,3} /m) === -1 ? undefined : rest.search(/^#{2,3} /m));
  const table = /(?:^\|.*\n)+/m.exec(section)?.[0] ?? '';
  return table
    .trim()
    .split('\n')
    .slice(2) // header and |---|
    .map((row) => row.replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((cell) => cell.trim()));
}

function readmeOptions(command: string): Listed[] {
  return readmeRows(command)
    .map(([flagCell = '', defaultCell = '', meaning = '']) => {
      const flags = longFlags(flagCell);
      const parts = flags.length > 1 ? defaultCell.split(/,\s*/) : [defaultCell];
      return { flags, defaults: parts.length === flags.length ? parts.map((p) => oneValue(p) ?? '') : [], description: meaning };
    })
    .filter((o) => o.flags.length > 0);
}

const flagSet = (options: Listed[]) => options.flatMap((o) => o.flags).sort();
const defaultsByFlag = (options: Listed[]) => new Map(options.flatMap((o) => o.flags.map((f, i) => [f, o.defaults[i] ?? ''] as const)));

const programHelp = help([]);
/** Each command, a command with subcommands replaced by its subcommands (`ledger list`): each has its own README table. */
const commands = commandNames(programHelp).flatMap((name) => {
  const subcommands = commandNames(help([name]));
  return subcommands.length === 0 ? [name] : subcommands.map((sub) => `${name} ${sub}`);
});
const parents = commandNames(programHelp).filter((name) => commandNames(help([name])).length > 0);

describe('help and README', () => {
  it('the program lists the documented commands', () => {
    expect(commands).toEqual(expect.arrayContaining(['preview', 'send', 'watch', 'sandbox', 'templates']));
  });

  describe.each(commands)('%s', (command) => {
    const text = help(command.split(' '));

    it('lists in --help exactly the options of its README table', () => {
      expect(flagSet(helpOptions(text))).toEqual(flagSet(readmeOptions(command)));
    });

    it('gives in the README the default its --help shows', () => {
      const inReadme = defaultsByFlag(readmeOptions(command));
      for (const option of helpOptions(text)) {
        const flag = option.flags[0]!;
        const shown = option.defaults[0];
        if (shown) expect(inReadme.get(flag), `${command} ${flag}: README default`).toBe(shown);
        const documented = inReadme.get(flag);
        if (documented) expect(option.description, `${command} ${flag}: --help names the README's default`).toContain(documented);
      }
    });

    it('marks in --help as required exactly the options its README table says are required', () => {
      const inReadme = readmeRows(command).filter(([, defaultCell = '']) => /\(required\)/.test(defaultCell)).flatMap(([flagCell = '']) => longFlags(flagCell));
      const inHelp = helpOptions(text).filter((o) => /\(required\)/.test(o.description)).flatMap((o) => o.flags);
      expect(inHelp.sort()).toEqual(inReadme.sort());
    });

    it('ends its help with an Examples section of two or three commands', () => {
      const examples = /\nExamples:\n((?: {2}.*\n?)+)$/.exec(text)?.[1]?.trimEnd().split('\n') ?? [];
      expect(examples.length, text).toBeGreaterThanOrEqual(2);
      expect(examples.length).toBeLessThanOrEqual(3);
      for (const line of examples) expect(line).toMatch(/^ {2}canvas-letters /);
    });

    it('prints no (default: []) after a repeatable option', () => {
      expect(text).not.toContain('(default: [])');
    });
  });

  it.each(parents)('%s --help, which lists its subcommands, ends with examples too', (command) => {
    expect(help([command])).toMatch(/\nExamples:\n {2}canvas-letters [^\n]+\n {2}canvas-letters /);
  });

  it('the program help ends with examples too', () => {
    expect(programHelp).toMatch(/\nExamples:\n {2}canvas-letters [^\n]+\n {2}canvas-letters /);
  });

  it.each(['send', 'watch'])('%s --help names the environment variables and the .env file', (command) => {
    const text = help([command]);
    for (const name of ['CANVAS_BASE_URL', 'CANVAS_CLIENT_ID', 'CANVAS_CLIENT_SECRET', 'CANVAS_ACCESS_TOKEN', 'CANVAS_LETTERS_LEDGER', 'HTTPS_PROXY', 'NO_PROXY']) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/\.env file in the working directory/);
  });

  it('hides from preview the sending options that do nothing there, and from watch --out and --yes', () => {
    const listed = (command: string) => flagSet(helpOptions(help([command])));
    for (const flag of ['--rate', '--ledger', '--resend-unknown', '--yes']) expect(listed('preview')).not.toContain(flag);
    for (const flag of ['--out', '--yes']) expect(listed('watch')).not.toContain(flag);
    expect(listed('send')).toEqual(expect.arrayContaining(['--rate', '--ledger', '--resend-unknown', '--yes', '--out']));
    expect(listed('preview')).toEqual(expect.arrayContaining(['--concurrency', '--timeout', '--limit', '--lookup']));
  });

  it('watch still accepts the hidden -o and -y, and says -o has no effect', () => {
    const dir = tempDir();
    const env = { CANVAS_BASE_URL: 'http://127.0.0.1:9', CANVAS_ACCESS_TOKEN: 'unused' };
    const r = runCli(['watch', dir, '--once', '-o', join(dir, 'out'), '-y', '--ledger', join(dir, 'l.db')], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('--out has no effect');
    expect(r.stderr).toContain('nothing to do');
  });
});
