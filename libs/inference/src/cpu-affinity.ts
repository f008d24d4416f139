// Which CPUs a thread may run on (Linux). Node has no sched_setaffinity, so this goes through
// util-linux's `taskset` (in every Debian-based image). Used to give the model thread CPUs of its
// own: the service's other threads (its event loop, libuv's pool, V8's helpers) then never take the
// model's core from it, which on a small node costs the model a tenth of its time or more.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A CPU list as taskset and /proc write it: "1", "0,2", "2-3". */
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

export function parseCpuList(list: string): number[] {
  if (!CPU_LIST.test(list)) throw new RangeError(`not a CPU list (e.g. "1", "0,2", "2-3"): ${JSON.stringify(list)}`);
  const cpus = new Set<number>();
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    const hi = b ?? a;
    if (hi < a || hi - a > 4096) throw new RangeError(`not a CPU range: ${part}`);
    for (let c = a; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((x, y) => x - y);
}

/** The CPUs this process may use (its cgroup's and its own mask). */
export function allowedCpus(): number[] {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  if (!line) throw new Error('/proc/self/status has no Cpus_allowed_list (not Linux?)');
  return parseCpuList(line.split(':')[1]!.trim());
}

/** The kernel's id of the calling thread (main thread or worker thread). */
export function currentThreadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').pop());
}

/** Every thread of this process. */
export function processThreadIds(): number[] {
  return readdirSync('/proc/self/task').map(Number);
}

/** Restricts thread `tid` of this process to `cpus`; threads it starts later inherit the mask. */
export function setThreadCpus(tid: number, cpus: readonly number[]): void {
  if (cpus.length === 0) throw new RangeError('no CPUs to run on');
  try {
    execFileSync('taskset', ['-p', '-c', cpus.join(','), String(tid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot set the CPUs of thread ${tid} to ${cpus.join(',')} with taskset: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/** The CPUs thread `tid` of this process may run on now. */
export function threadCpus(tid: number): number[] {
  const line = readFileSync(`/proc/self/task/${tid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  return parseCpuList(line!.split(':')[1]!.trim());
}
