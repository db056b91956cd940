// Jest reads `testTimeout` from the global config only (a project's own value is ignored), so the int project sets
// its budget here. Sized for a slow, shared CI machine: two cores, another test run beside it.
jest.setTimeout(30_000);
