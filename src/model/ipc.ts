// Why: the ipc namespace state nsdump keeps and restores; shared by the reader and the planner.
/** The ipc sysctls CRIU keeps, plus the mqueue limits; they follow the reading thread's ipc ns. */
export const IPC_SYSCTLS = [
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.msg_next_id',
  'kernel.sem', 'kernel.sem_next_id',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_next_id', 'kernel.shm_rmid_forced',
  'fs.mqueue.msg_default', 'fs.mqueue.msg_max', 'fs.mqueue.msgsize_default', 'fs.mqueue.msgsize_max', 'fs.mqueue.queues_max',
] as const;
