export * from './test-env';
export * from './redis-isolation';
export * from './database-isolation';
export * from './wait-for';
export * from './private-redis';
export * from './private-postgres';
export * from './contract-factories';
export * from './raw-http';
