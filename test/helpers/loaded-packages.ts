/** The packages loaded in this process so far (node --test runs each test file in its own): what the CLI's load tests hold to a list. */
export function loadedPackages(): string[] {
  const names = new Set<string>();
  for (const file of Object.keys(require.cache)) {
    const m = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(file);
    if (m) names.add(m[1].replace('\\', '/'));
  }
  return [...names].sort();
}
