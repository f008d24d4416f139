import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { DcmtkNotInstalledError, DcmtkToolError, isDcmtkInstalled, runDcmtk, runDcmtkSync, startDcmtk } from './dcmtk-runner.ts';

const MISSING = 'cxr-no-such-dcmtk-tool';
const haveDcmtk = isDcmtkInstalled('dcmdump');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('a tool that is not installed', () => {
  test('is an error that names it and the package to install, not a bare ENOENT', async () => {
    await expect(runDcmtk(MISSING, [])).rejects.toThrow(new DcmtkNotInstalledError(MISSING));
    await expect(runDcmtk(MISSING, [])).rejects.toThrow(/apt-get install dcmtk/);
    expect(() => runDcmtkSync(MISSING, [])).toThrow(DcmtkNotInstalledError);
    expect(() => startDcmtk(MISSING, [])).toThrow(DcmtkNotInstalledError);
    expect(isDcmtkInstalled(MISSING)).toBe(false);
  });

  test('is never looked up through a shell with odd characters in its name', () => {
    expect(isDcmtkInstalled('dcmdump; true')).toBe(false);
  });
});

describe.skipIf(!haveDcmtk)('DCMTK tools (skipped: DCMTK is not installed, apt-get install dcmtk)', () => {
  test('resolves with the output of a run that succeeds', async () => {
    const result = await runDcmtk('dcmdump', ['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/dcmdump/i);
    expect(result.output).toContain(result.stdout.trim());
    expect(runDcmtkSync('dcmdump', ['--version']).stdout).toBe(result.stdout);
  });

  test('rejects a non-zero exit with the exit code and what the tool said', async () => {
    const error = await runDcmtk('dcmdump', ['/nonexistent/file.dcm']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DcmtkToolError);
    expect((error as DcmtkToolError).code).not.toBe(0);
    expect((error as DcmtkToolError).code).toEqual(expect.any(Number));
    expect((error as DcmtkToolError).message).toMatch(/^dcmdump exited with code \d+:\n.*nonexistent/s);
    expect(() => runDcmtkSync('dcmdump', ['/nonexistent/file.dcm'])).toThrow(DcmtkToolError);
  });

  test('resolves a failed run when the caller asked to see failures', async () => {
    const result = await runDcmtk('dcmdump', ['/nonexistent/file.dcm'], { allowFailure: true });
    expect(result.code).not.toBe(0);
    expect(result.timedOut).toBe(false);
    expect(runDcmtkSync('dcmdump', ['/nonexistent/file.dcm'], { allowFailure: true }).code).toBe(result.code);
  });

  test('kills a tool that runs past its timeout and says so', async () => {
    // storescp waits for associations for ever.
    const port = String(await freePort());
    const error = await runDcmtk('storescp', ['--ignore', port], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DcmtkToolError);
    expect((error as DcmtkToolError).timedOut).toBe(true);
    expect((error as DcmtkToolError).message).toMatch(/^storescp timed out/);
    const result = runDcmtkSync('storescp', ['--ignore', port], { timeoutMs: 300, allowFailure: true });
    expect(result.timedOut).toBe(true);
  });

  test('kills a tool when its signal is aborted, well before its own timeout', async () => {
    const port = String(await freePort());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await runDcmtk('storescp', ['--ignore', port], { timeoutMs: 120_000, signal: controller.signal, allowFailure: true });
    expect(result.timedOut).toBe(true);
    expect(result.code).toBeNull();
  });

  test('stops a tool that writes more output than allowed', async () => {
    await expect(runDcmtk('dcmdump', ['--version'], { maxOutputBytes: 10 })).rejects.toThrow(/more than 10 bytes of output/);
  });

  test('runs each tool with Nagle off (TCP_NODELAY=1), as DCMTK needs to answer quickly', async () => {
    // DCMTK reads TCP_NODELAY from its environment; sh shows what the runner gives a tool.
    const result = await runDcmtk('sh', ['-c', 'echo "$TCP_NODELAY"']);
    expect(result.stdout.trim()).toBe('1');
  });
});
