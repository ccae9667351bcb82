import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };

/**
 * Clients that cannot be on the shared version because the npm registry this
 * project installs from has no release of them there (checked with
 * `npm view PKG versions --json`): each names its newest release available.
 */
const NOT_ALIGNED: Readonly<Record<string, string>> = {
  // The registry carries client-synthetics only up to 3.669.0 (nine releases in all).
  '@aws-sdk/client-synthetics': '3.669.0',
  // The registry carries client-application-signals only at 3.1006.0 (its one release there), which
  // the service-level objectives' `ops slo` uses (slo's landing; listed here so the two land in either order).
  '@aws-sdk/client-application-signals': '3.1006.0',
};

const sdk = Object.entries({ ...manifest.dependencies, ...manifest.devDependencies }).filter(([name]) => name.startsWith('@aws-sdk/'));
/** The service clients (`@aws-sdk/client-*`): one release line, so one version. */
const clients = sdk.filter(([name]) => name.startsWith('@aws-sdk/client-'));
/**
 * The other `@aws-sdk/*` packages the project imports itself (the credential
 * chain of the hand-signed Region switch client): each has its own release
 * line (credential-provider-node is 3.972.x, there is no 3.1133), so they
 * cannot take the clients' version; they are pinned to a release the clients
 * themselves accept, so the clients and our own code share one copy.
 */
const others = sdk.filter(([name]) => !name.startsWith('@aws-sdk/client-'));

describe('the AWS SDK for JavaScript v3', () => {
  test('every @aws-sdk/* package is pinned to an exact version', () => {
    expect(sdk.length).toBeGreaterThan(1);
    for (const [name, version] of sdk) expect(`${name}@${version}`).toMatch(/@\d+\.\d+\.\d+$/);
  });

  test('every @aws-sdk client is on one version, except those the registry does not have at it', () => {
    const aligned = clients.filter(([name]) => !(name in NOT_ALIGNED));
    expect(aligned.length).toBeGreaterThan(1);
    expect(new Set(aligned.map(([, version]) => version))).toEqual(new Set([aligned[0][1]]));
    // A client that is not aligned is on exactly the release the registry has (when the project uses it).
    for (const [name, version] of Object.entries(NOT_ALIGNED)) {
      const pinned = manifest.devDependencies?.[name] ?? manifest.dependencies?.[name];
      if (pinned !== undefined) expect(`${name}@${pinned}`).toBe(`${name}@${version}`);
    }
    expect(clients.map(([name]) => name)).toContain('@aws-sdk/client-synthetics');
  });

  test('the lock installs exactly the pinned versions at the top level', () => {
    for (const [name, version] of sdk) expect(`${name}@${lock.packages[`node_modules/${name}`]?.version}`).toBe(`${name}@${version}`);
  });

  test('the aligned clients use the pinned copy of every other @aws-sdk package the project imports (npm nests a copy under a client only when the pinned one is outside its range)', () => {
    expect(others.map(([name]) => name)).toContain('@aws-sdk/credential-provider-node');
    const aligned = clients.filter(([name]) => !(name in NOT_ALIGNED)).map(([name]) => name);
    const nested = Object.keys(lock.packages).filter((key) => aligned.some((client) => others.some(([other]) => key.startsWith(`node_modules/${client}/`) && key.endsWith(`/node_modules/${other}`))));
    expect(nested).toEqual([]);
  });
});
