/**
 * The API's OpenAPI description at `/docs/json` and its browsable page at `/docs`, built from
 * the routes' own TypeBox schemas (@fastify/swagger), with Swagger UI's files served from
 * node_modules (@fastify/swagger-ui: no CDN). Behind the login like every admin page.
 */
import type { FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';

export async function registerApiDocs(scope: FastifyInstance, storeName: string): Promise<void> {
  await scope.register(fastifySwagger, {
    openapi: {
      info: {
        title: `${storeName} · admin API / 门店管理接口`,
        version: '1',
        description: 'Every reply is a JSON object; lists are `{items, next}` with a cursor; names snake_case; times ISO 8601; every error `{error, message, zh, fields?}`. Sign in at /login; state-changing requests carry the `x-csrf-token` header from GET /api/me.',
      },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'store_admin' }, csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token' } } },
      security: [{ session: [] }],
    },
  });
  // the page's own CSP (helmet's, scripts from this origin only) holds: Swagger UI's files are all local
  await scope.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: false, uiConfig: { docExpansion: 'list', deepLinking: false, validatorUrl: null } });
}
