# The gateway and the migration runner share one image: Node 20, the locked
# dependencies, and the sources. Runs as an unprivileged user.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY .gmrc ./
COPY db ./db
COPY migrations ./migrations
COPY scripts ./scripts
COPY gateway ./gateway
COPY tsconfig.json ./
USER node
