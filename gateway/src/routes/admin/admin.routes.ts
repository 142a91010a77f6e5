import { createRoute, z } from '@hono/zod-openapi';
import { errorResponse } from '../../errors.js';
import { ok } from '../../lib/openapi.js';

const adminErrors = { 401: errorResponse('Missing or invalid access token (INVALID_TOKEN)'), 403: errorResponse('Not an admin (FORBIDDEN)') };

export const routes = {
  sign: createRoute({
    method: 'post', path: '/admin/audit/checkpoints/sign', tags: ['admin'], security: [{ bearer: [] }],
    summary: 'Countersign pending audit checkpoints now',
    description: 'Signs every checkpoint of the audit chain that has no gateway signature yet (a JWS with the gateway\'s signing key, '
      + 'verifiable with /.well-known/jwks.json). The gateway also does this every minute on its own.',
    responses: { 200: ok(z.object({ signed: z.number().int() }), 'Checkpoints signed'), ...adminErrors },
  }),
  events: createRoute({
    method: 'get', path: '/admin/events', tags: ['admin'], security: [{ bearer: [] }],
    summary: 'Security events as they happen (Server-Sent Events)',
    description: 'Every audit event of severity warning or critical (lockouts, refresh-token reuse, suspicious sessions, sanctions matches...), '
      + 'as `event: security_event` with the JSON of the event (no personal data). A comment line every 15 s keeps the connection open.',
    responses: { 200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'The event stream' }, ...adminErrors },
  }),
};
