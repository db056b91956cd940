/**
 * Runs every step in order, each whatever the ones before did, then throws the first error: a test that broke a
 * dependency (a database it made refuse connections, an app whose close fails) must still delete its Redis keys and
 * its database.
 */
export async function releaseAll(...steps: ReadonlyArray<() => unknown>): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
