#!/usr/bin/env node
/**
 * Release gate of .github/workflows/publish.yml: the pushed tag must be `v` + package.json's
 * version, so the npm package, the sidecar image and the generated files that pin this version
 * all agree. Prints `version=...` and `dist-tag=latest|next` (GitHub output lines) or exits 1
 * naming the mismatch.
 *
 * Usage: node scripts/release-version.mjs v1.2.3
 */
import { readFileSync } from 'node:fs';

const tag = process.argv[2] ?? '';
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;

if (!tag.startsWith('v') || !semver.test(tag.slice(1))) {
  console.error(`release tag "${tag}" is not v<semver> (e.g. v1.2.3 or v1.2.3-rc.1)`);
  process.exit(1);
}
if (tag.slice(1) !== pkg.version) {
  console.error(
    `release tag ${tag} does not match package.json version ${pkg.version}: bump "version" in package.json (npm version ${tag.slice(1)}) or tag v${pkg.version}`,
  );
  process.exit(1);
}
// npm provenance only verifies when package.json names the repository that builds it.
const repo = process.env.GITHUB_REPOSITORY;
if (repo) {
  const url = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository?.url ?? '');
  const named = url
    .replace(/^git\+/, '')
    .replace(/\.git$/, '')
    .replace(/^github:/, 'https://github.com/');
  if (named.toLowerCase() !== `https://github.com/${repo}`.toLowerCase()) {
    console.error(
      `package.json "repository" is "${url}", but this release is built by github.com/${repo}: set "repository": {"type": "git", "url": "git+https://github.com/${repo}.git"} (npm provenance checks it)`,
    );
    process.exit(1);
  }
}
console.log(`version=${pkg.version}`);
// A pre-release (1.2.3-rc.1) never becomes `latest` on npm.
console.log(`dist-tag=${pkg.version.includes('-') ? 'next' : 'latest'}`);
