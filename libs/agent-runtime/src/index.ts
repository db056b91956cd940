export * from './agent-definition';
export * from './agent-registry';
export * from './kinds/echo.agent';
