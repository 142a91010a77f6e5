import type { z } from '@hono/zod-openapi';

/** A required JSON request body. */
export const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });
/** A JSON response. */
export const ok = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
