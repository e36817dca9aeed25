/**
 * The end of each command's help: for send and watch, the environment they read; for every
 * command, two or three examples. The README's command sections say the same.
 */
import type { Command } from 'commander';

/** Examples by command name; the program's own under its name. */
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

/** Add the environment and examples to the help of the program and of each of its commands. */
export function addHelpTexts(program: Command): void {
  for (const cmd of [program, ...program.commands]) {
    if (WITH_ENVIRONMENT.has(cmd.name())) cmd.addHelpText('after', ENVIRONMENT);
    const examples = EXAMPLES[cmd.name()];
    if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  }
}
