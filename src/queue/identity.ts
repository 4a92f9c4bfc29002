/**
 * Worker identities: "<hostname>:<pid>:<process token>:<slot>". From the id alone, a process on the same
 * host can tell that the worker holding a job is gone (its pid is dead, or it is this pid with another
 * token: a restarted process that got the same pid, as in containers), so a restart re-queues at once.
 */
import { randomUUID } from "node:crypto";
import os from "node:os";

/** This process's token. */
export const PROCESS_TOKEN = randomUUID().slice(0, 8);

export function workerId(slot: string | number = 0): string {
  return `${os.hostname()}:${process.pid}:${PROCESS_TOKEN}:${slot}`;
}

/** Whether the worker `id` is certainly gone (same host, process dead or replaced). Other hosts: false. */
export function workerIsDead(id: string, self = { host: os.hostname(), pid: process.pid, token: PROCESS_TOKEN }): boolean {
  const [host, pidText, token] = id.split(":");
  if (host !== self.host) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === self.pid) return token !== self.token;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
