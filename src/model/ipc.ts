// Why: the ipc namespace state nsdump keeps and restores; shared by the reader and the planner.
/** The ipc sysctls CRIU keeps, plus the mqueue limits; they follow the reading thread's ipc ns. */
export const IPC_SYSCTLS = [
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.msg_next_id',
  'kernel.sem', 'kernel.sem_next_id',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_next_id', 'kernel.shm_rmid_forced',
  'fs.mqueue.msg_default', 'fs.mqueue.msg_max', 'fs.mqueue.msgsize_default', 'fs.mqueue.msgsize_max', 'fs.mqueue.queues_max',
] as const;

/**
 * Sysctls in an order the kernel accepts them: limits before the defaults that must stay below
 * them. A *_next_id of -1 is the kernel's own "unset", which it refuses as a write; a new ipc
 * namespace starts with it anyway, so it is left out.
 */
export function orderedSysctls(sysctls: Record<string, string>): [string, string][] {
  return Object.keys(sysctls)
    .filter((k) => !(k.endsWith('_next_id') && sysctls[k] === '-1'))
    .sort((a, b) => Number(/_default$/.test(a)) - Number(/_default$/.test(b)) || (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => [k, sysctls[k]!]);
}
