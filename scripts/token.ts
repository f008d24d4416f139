/**
 * `npm run token -- --role radiologist [--role viewer] [--sub id] [--name "Dr Dev"] [--ttl 3600]`:
 * prints a bearer token from the development issuer, which services running with the default
 * `AUTH_MODE=dev` accept. Set AUTH_DEV_SECRET if the services run with another secret.
 * Production runs `AUTH_MODE=oidc` and never accepts these tokens.
 */
import { parseArgs } from 'node:util';
import { roleSchema } from '@cxr/contracts';
import { mintDevToken } from '@cxr/platform';

const { values } = parseArgs({
  options: {
    role: { type: 'string', multiple: true, default: ['viewer'] },
    sub: { type: 'string' },
    name: { type: 'string' },
    ttl: { type: 'string', default: String(8 * 3600) },
  },
});

const roles = values.role.flatMap((r) => r.split(',')).map((r) => r.trim());
const bad = roles.filter((r) => !roleSchema.safeParse(r).success);
const ttlSeconds = Number(values.ttl);
if (bad.length > 0 || roles.length === 0 || !Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
  console.error(`usage: npm run token -- --role <${roleSchema.options.join('|')}> [--sub id] [--name "Dr Dev"] [--ttl seconds]`);
  if (bad.length > 0) console.error(`unknown role: ${bad.join(', ')}`);
  process.exit(2);
}
const token = await mintDevToken({
  role: roles.map((r) => roleSchema.parse(r)),
  ...(values.sub ? { sub: values.sub } : {}),
  ...(values.name ? { name: values.name } : {}),
  ttlSeconds,
  ...(process.env.AUTH_DEV_SECRET ? { secret: process.env.AUTH_DEV_SECRET } : {}),
});
console.log(token);
