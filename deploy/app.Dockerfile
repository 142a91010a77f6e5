# The gateway and the migration runner share one image: Node 20, the locked
# production dependencies, the gateway compiled to JavaScript (`npm run build`,
# run as `node dist/src/server.js`) and the migration scripts. Runs as an
# unprivileged user. Built in two stages: the compiler and the other dev
# dependencies stay in the first.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY gateway ./gateway
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY .gmrc ./
COPY db ./db
COPY migrations ./migrations
COPY scripts ./scripts
COPY --from=build /app/dist ./dist
USER node
# docker stop sends SIGTERM: the gateway answers 503 while its requests in flight
# finish, then exits (SHUTDOWN_TIMEOUT_MS, below docker's 10 s grace period).
CMD ["node", "dist/src/server.js"]
