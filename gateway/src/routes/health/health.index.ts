import type { Db } from '../../db.js';
import { createRouter, mount } from '../../lib/create-app.js';
import { healthHandlers } from './health.handlers.js';
import { routes } from './health.routes.js';

/** Liveness and database reachability. */
export const healthRouter = (db: Db) => mount(createRouter(), routes, healthHandlers(db));
