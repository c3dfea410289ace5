/** The package version, read once from package.json so the CLI and metrics report the same thing. */
import { readFileSync } from 'node:fs';

const packageJsonUrl = new URL('../../../package.json', import.meta.url);

function readVersion(): string {
  // From dist/src/daemon/ the package root is three levels up; from src/daemon/ (vitest) two.
  for (const url of [packageJsonUrl, new URL('../../package.json', import.meta.url)]) {
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ringflow' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0-unknown';
}

export const RINGFLOW_VERSION = readVersion();
