import { describe, expect, test } from 'vitest';
import { MissingPackagesError, TEST_PACKAGES, installCommand, missingPackages, type DebianPackage } from './debian-packages.ts';

const fake = (name: string, present: boolean): DebianPackage => ({ name, for: `${name} things`, present: () => present });

describe('Debian packages the tests need', () => {
  test('lists the packages whose tools are missing, and only those', () => {
    expect(missingPackages([fake('a', true), fake('b', false), fake('c', false)]).map((p) => p.name)).toEqual(['b', 'c']);
  });

  test('says in one line what is missing and the exact command that installs it', () => {
    const error = new MissingPackagesError([fake('dcmtk', false), fake('libgdcm-tools', false)], 'for the tests');
    expect(error.message).not.toContain('\n');
    expect(error.message).toBe(
      'missing Debian packages for the tests: dcmtk (dcmtk things), libgdcm-tools (libgdcm-tools things). ' +
        'Install them with: sudo apt-get update && sudo apt-get install -y dcmtk libgdcm-tools',
    );
  });

  test('names every package the integration tests start a part from or check their output with', () => {
    expect(TEST_PACKAGES.map((p) => p.name)).toEqual(['redis-server', 'dcmtk', 'libgdcm-tools', 'orthanc', 'orthanc-dicomweb', 'dicom3tools', 'python3-pydicom']);
    expect(installCommand(TEST_PACKAGES)).toBe('sudo apt-get update && sudo apt-get install -y redis-server dcmtk libgdcm-tools orthanc orthanc-dicomweb dicom3tools python3-pydicom');
  });
});
