import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { parseEnv } from './config.ts';

const schema = z.object({
  PORT: z.coerce.number().int().min(1),
  SIGNING_SECRET: z.string().min(32),
  PEERS: z.string().transform((t) => JSON.parse(t) as unknown).pipe(z.array(z.object({ url: z.string().url() }).strict())),
});

const messageOf = (env: NodeJS.ProcessEnv, secret?: string[]): string => {
  try {
    parseEnv(schema, env, secret ? { secret } : {});
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('parseEnv accepted it');
};
const valid = { PORT: '80', SIGNING_SECRET: 'x'.repeat(32), PEERS: '[]' };

describe('parseEnv errors', () => {
  test('show an ordinary malformed value, to help fix a typo', () => {
    expect(messageOf({ ...valid, PORT: 'eighty' })).toMatch(/^Invalid configuration:\n {2}PORT: malformed setting "eighty" \(/);
  });

  test('name a secret by its name and the problem, never its value', () => {
    const message = messageOf({ ...valid, SIGNING_SECRET: 'hunter2-too-short' });
    expect(message).toMatch(/SIGNING_SECRET: malformed setting \(Too small.*; the value is not shown, it may hold credentials\)/);
    expect(message).not.toContain('hunter2');
  });

  test('say where inside a structured value the problem is, and hide a listed setting', () => {
    const peers = JSON.stringify([{ url: 'http://ok/' }, { url: 'Bearer abc123' }]);
    expect(messageOf({ ...valid, PEERS: peers })).toContain(`PEERS: malformed setting ${JSON.stringify(peers)} at [1].url (Invalid URL)`);
    const hidden = messageOf({ ...valid, PEERS: peers }, ['PEERS']);
    expect(hidden).toMatch(/PEERS: malformed setting at \[1\]\.url \(Invalid URL; the value is not shown/);
    expect(hidden).not.toContain('abc123');
  });

  test('call an absent required setting missing', () => {
    expect(messageOf({ PORT: '80', PEERS: '[]' })).toMatch(/SIGNING_SECRET: missing setting/);
  });
});
