/**
 * The start script of a service's container image. One Dockerfile builds every service
 * (`--build-arg SERVICE=...`), and an exec-form CMD cannot differ per build argument, so the
 * build writes this script and the CMD runs it: `exec` makes node replace the shell, so node is
 * PID 1 and gets SIGTERM, as when startServiceProcess runs the service.
 */
import { SERVICE_NAMES, serviceCommand, type ServiceName } from './service-process.ts';

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

/** Single-quoted for sh: nothing in it is expanded. */
function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function imageStartScript(service: ServiceName): string {
  return [
    '#!/bin/sh',
    `# Written at image build from services/${service}/package.json (cxr.nodeFlags) by libs/devstack/src/cli/image-start-script.ts.`,
    `exec ${serviceCommand(service).map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}

/** The argv of the script's exec line (its single-quoted words), for tests. */
export function execArgsOf(script: string): string[] {
  const line = /^exec (.*)$/m.exec(script)?.[1];
  if (line === undefined) throw new Error('no exec line in the start script');
  return [...line.matchAll(/'((?:[^']|'\\'')*)'/g)].map((m) => m[1]!.replace(/'\\''/g, "'"));
}
