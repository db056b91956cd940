/** Injection token of the `RunExecutionConfig` the execution providers read. */
export const RUN_EXECUTION_CONFIG = Symbol('RUN_EXECUTION_CONFIG');

/** Injection token of how long shutdown waits for runs in flight before aborting them (direct mode). */
export const RUN_EXECUTION_SHUTDOWN_GRACE_MS = Symbol('RUN_EXECUTION_SHUTDOWN_GRACE_MS');
