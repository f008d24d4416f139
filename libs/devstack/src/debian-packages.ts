/**
 * The Debian packages the real parts come from, and one place that makes sure they are there:
 * installed when missing and running as root with apt-get (as on a fresh CI machine), otherwise
 * a one-line answer naming what is missing and the command that installs it.
 *
 * Presence is checked by what the tests run (a command or a plugin file), not by dpkg, so a
 * DCMTK or Redis built by hand counts as well.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dicomWebPluginPath } from './orthanc.ts';

export interface DebianPackage {
  name: string;
  /** What it gives the tests, for the message. */
  for: string;
  present(): boolean;
}

/** Whether a command is on PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Everything `npm test` needs. */
export const TEST_PACKAGES: readonly DebianPackage[] = Object.freeze([
  { name: 'redis-server', for: 'queues', present: () => hasCommand('redis-server') },
  { name: 'dcmtk', for: 'DICOM senders, dcmdump, the test corpus', present: () => ['dcmsend', 'storescu', 'dcmconv', 'dcmcjpeg', 'dcmcjpls', 'dcmcrle', 'dcm2pnm'].every(hasCommand) },
  { name: 'libgdcm-tools', for: 'JPEG 2000 in the test corpus', present: () => hasCommand('gdcmconv') },
  { name: 'orthanc', for: 'a real PACS', present: () => hasCommand('Orthanc') },
  { name: 'orthanc-dicomweb', for: "the PACS's STOW-RS", present: () => dicomWebPluginPath() !== undefined },
  { name: 'dicom3tools', for: "dciodvfy, the IOD checker of the report's DICOM exports", present: () => hasCommand('dciodvfy') },
  { name: 'python3-pydicom', for: "pydicom reading the report's DICOM exports back", present: () => spawnSync('/usr/bin/python3', ['-c', 'import pydicom, numpy'], { stdio: 'ignore' }).status === 0 },
]);

/** What the browser test needs on top. */
export const BROWSER_TEST_PACKAGES: readonly DebianPackage[] = Object.freeze([
  { name: 'chromium', for: 'the viewer test', present: () => existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium') },
]);

export function missingPackages(packages: readonly DebianPackage[]): DebianPackage[] {
  return packages.filter((p) => !p.present());
}

export function installCommand(packages: readonly DebianPackage[]): string {
  return `sudo apt-get update && sudo apt-get install -y ${packages.map((p) => p.name).join(' ')}`;
}

/** True when this process may install Debian packages itself (root, with apt-get). */
export function canInstallPackages(): boolean {
  return process.getuid?.() === 0 && hasCommand('apt-get');
}

export class MissingPackagesError extends Error {
  override name = 'MissingPackagesError';
  constructor(readonly packages: readonly DebianPackage[], what: string) {
    super(`missing Debian packages ${what}: ${packages.map((p) => `${p.name} (${p.for})`).join(', ')}. Install them with: ${installCommand(packages)}`);
  }
}

/**
 * Makes sure the packages are there (`what` says for what, e.g. "for the tests"): returns the names it installed (none when all were present),
 * or throws MissingPackagesError when some are missing and it may not install them.
 */
export function ensurePackages(packages: readonly DebianPackage[], what: string, log: (line: string) => void = console.log): string[] {
  const missing = missingPackages(packages);
  if (missing.length === 0) return [];
  if (!canInstallPackages()) throw new MissingPackagesError(missing, what);
  const names = missing.map((p) => p.name);
  log(`installing missing Debian packages ${what}: ${names.join(' ')} ...`);
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...names]]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed; install them yourself: ${installCommand(missing)}`);
  }
  const still = missingPackages(missing);
  if (still.length > 0) throw new MissingPackagesError(still, what);
  return names;
}
