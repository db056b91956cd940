import { buildOpenApiDocument, openApiPath } from './openapi-document';
import { OPENAPI_OPERATIONS } from './openapi-routes';

const routesOfTable = () =>
  Object.keys(OPENAPI_OPERATIONS).map((key) => {
    const [method = '', url = ''] = key.split(' ');
    return { method, url };
  });

describe(buildOpenApiDocument.name, () => {
  it('should document every route of the table and report none missing', () => {
    const { document, undocumented } = buildOpenApiDocument(routesOfTable());

    expect(undocumented).toEqual([]);
    expect(document.openapi).toBe('3.1.0');
    expect(Object.values(document.paths).flatMap((operations) => Object.keys(operations))).toHaveLength(Object.keys(OPENAPI_OPERATIONS).length);
  });

  it('should report a served route the table lacks, and leave it out', () => {
    const { document, undocumented } = buildOpenApiDocument([...routesOfTable(), { method: 'POST', url: '/agents/:id/clone' }]);

    expect(undocumented).toEqual(['POST /agents/:id/clone']);
    expect(document.paths['/agents/{id}/clone']).toBeUndefined();
  });

  it('should skip the HEAD twins of GET routes', () => {
    const { undocumented } = buildOpenApiDocument([{ method: 'HEAD', url: '/agents' }, { method: 'GET', url: '/agents' }]);

    expect(undocumented).toEqual([]);
  });

  it('should describe every path parameter of every table entry with a schema', () => {
    const { document } = buildOpenApiDocument(routesOfTable());
    const untyped: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const parameters = (operation['parameters'] ?? []) as Array<{ in: string; name: string; schema: Record<string, unknown> }>;
        for (const parameter of parameters.filter((candidate) => candidate.in === 'path')) {
          // `{ type: 'string' }` alone is the fallback for a parameter the entry's `params` schema does not name.
          if (JSON.stringify(parameter.schema) === '{"type":"string"}') untyped.push(`${method} ${path} {${parameter.name}}`);
        }
      }
    }

    expect(untyped).toEqual([]);
  });

  it('should give request bodies their input form and answers their output form', () => {
    const { components } = buildOpenApiDocument([]).document;
    const create = components.schemas['CreateAgentRequest'] as { required: string[] };
    const agent = components.schemas['Agent'] as { required: string[] };

    // `config` and `concurrency` have defaults: optional to send, always present in what the API answers.
    expect(create.required).toEqual(['name', 'kind']);
    expect(agent.required).toEqual(expect.arrayContaining(['config', 'concurrency']));
    expect(JSON.stringify(components.schemas)).not.toContain('"$id"');
  });
});

describe(openApiPath.name, () => {
  it('should turn Fastify parameters and wildcards into OpenAPI templates', () => {
    expect(openApiPath('/agents/:id/memory/:key')).toBe('/agents/{id}/memory/{key}');
    expect(openApiPath('/docs/*')).toBe('/docs/{path}');
    expect(openApiPath('/openapi.json')).toBe('/openapi.json');
  });
});
