/**
 * The end of each command's help: for send and watch, the environment they read; for every
 * command, two or three examples. The README's command sections say the same.
 */
import type { Command } from 'commander';

/** Examples by command name (a subcommand's under its full name, `ledger list`); the program's own under its name. */
const EXAMPLES: Record<string, string[]> = {
  'canvas-letters': [
    'canvas-letters templates',
    'canvas-letters preview patients.csv -t jury-duty --map patientKey="Patient ID"',
    'canvas-letters send patients.csv --job jury',
  ],
  init: ['canvas-letters init', 'canvas-letters init jury-letters    # makes the folder, then sets it up there'],
  preview: [
    'canvas-letters preview patients.csv --job jury',
    'canvas-letters preview patients.csv -t jury-duty --map patientKey="Patient ID" --provider <key> --location <key>',
    'canvas-letters preview patients.csv -t jury-duty --no-files --json',
  ],
  send: [
    'canvas-letters send patients.csv -t jury-duty --map patientKey="Patient ID" --provider <key> --location <key>',
    'canvas-letters send patients.csv --job jury --yes --json > summary.json',
    'canvas-letters send patients.csv --job jury --resend-unknown',
  ],
  watch: [
    'canvas-letters watch /srv/letters/inbox --job jury --ledger /srv/letters/ledger.db',
    'canvas-letters watch inbox --once --job jury    # from cron: what is there, then exit',
  ],
  sandbox: [
    'canvas-letters sandbox',
    'canvas-letters sandbox --known-keys --latency 100 --fail 429=0.1',
    'canvas-letters sandbox --port 0 --store sandbox-letters',
  ],
  approve: [
    'canvas-letters approve out/patients-20261203-091500 --by "Dr. Ada Smith"',
    'canvas-letters approve out/patients-20261203-091500 --by "Dr. Ada Smith" --exclude 7,12-15 --yes',
  ],
  templates: ['canvas-letters templates', 'canvas-letters templates --templates-dir letters/templates --json'],
  ledger: [
    'canvas-letters ledger list --status unknown',
    'canvas-letters ledger resolve --file patients.csv --row 7 --not-sent --by "Dr A. Vasquez"',
    'canvas-letters ledger export --since 2026-12-01 -o audit.csv',
  ],
  'ledger list': [
    'canvas-letters ledger list --status unknown',
    'canvas-letters ledger list --patient 5f2c9d1e8a7b4c3d --since 2026-12-01 --json',
  ],
  'ledger resolve': [
    'canvas-letters ledger resolve --file patients.csv --row 7 --not-sent --by "Dr A. Vasquez"',
    'canvas-letters ledger resolve <letter-key> --sent --letter-id 4f3e2d --by "Dr A. Vasquez"',
  ],
  'ledger export': [
    'canvas-letters ledger export -o audit.csv',
    'canvas-letters ledger export --since 2026-12-01 -o - | less',
  ],
};

/** What send and watch read from the environment (README, Configuration). */
const ENVIRONMENT = `
Environment, also read from a .env file in the working directory:
  CANVAS_BASE_URL                         your instance, e.g. https://acme.canvasmedical.com
  CANVAS_CLIENT_ID, CANVAS_CLIENT_SECRET  OAuth client credentials
  CANVAS_ACCESS_TOKEN                     a ready bearer token instead of the two above
  CANVAS_LETTERS_LEDGER                   the ledger file (--ledger wins)
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY       the outgoing proxy (not read from .env)`;

const WITH_ENVIRONMENT = new Set(['send', 'watch']);

/** A command and its subcommands, each with its name below the program (`ledger list`). */
function named(cmd: Command, prefix = ''): Array<[string, Command]> {
  return cmd.commands.flatMap((sub) => [[prefix + sub.name(), sub] as [string, Command], ...named(sub, `${prefix}${sub.name()} `)]);
}

/** Add the environment and examples to the help of the program and of each of its commands and subcommands. */
export function addHelpTexts(program: Command): void {
  for (const [name, cmd] of [[program.name(), program] as [string, Command], ...named(program)]) {
    if (WITH_ENVIRONMENT.has(name)) cmd.addHelpText('after', ENVIRONMENT);
    const examples = EXAMPLES[name];
    if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  }
}
