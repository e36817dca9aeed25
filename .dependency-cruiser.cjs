/**
 * The import rules `npm run lint` checks (dependency-cruiser): no import cycles between files in
 * src/, type-only imports included (a cycle through types still ties two files together).
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Files in src/ must not import each other in a circle: move the shared piece into its own file.',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
