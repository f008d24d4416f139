/**
 * `node --import tsx libs/devstack/src/cli/image-start-script.ts <service> <file>`: writes the
 * service's image start script (see ../image-start-script.ts). Run by the Dockerfile; it fails
 * the build at once when SERVICE names no service.
 */
import { writeFileSync } from 'node:fs';
import { imageStartScript, isServiceName } from '../image-start-script.ts';
import { SERVICE_NAMES } from '../service-process.ts';

const [service = '', file] = process.argv.slice(2);
if (!isServiceName(service) || file === undefined) {
  console.error(`usage: image-start-script.ts <service> <file>; SERVICE must be one of ${SERVICE_NAMES.join(', ')} (got "${service}")`);
  process.exit(2);
}
writeFileSync(file, imageStartScript(service), { mode: 0o755 });
