# syntax=docker/dockerfile:1
# Legate container image: `docker build -t legate:0.1.0 .`
#
# Node 24 (LTS, supported until April 2028): the newest LTS line that every dependency is tested
# on (@kubernetes/client-node 1.x is tested on Node 18-24). Debian slim rather than distroless:
# the Deployment's preStop hook runs /bin/sleep, which distroless images do not have.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: full dependency set, TypeScript → dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts are needed to compile (the only one is esbuild's, used by tsx in tests).
# `npm install` rather than `npm ci`: the lock file lists the formatter's binaries for Linux only, so
# `npm ci` would call it out of sync; the locked versions are installed all the same.
RUN npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# npm and corepack are not used at run time; removing them shrinks the image and what is in it.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
# Files stay owned by root and are only readable by the process user, so the running gateway
# cannot modify its own code (the Deployment also mounts the root filesystem read-only).
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
# A numeric user, so the kubelet can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080 8877
# Node runs as PID 1: Legate handles SIGTERM itself (drain, then exit) and reaps its own worker
# processes, so no init process is needed.
ENTRYPOINT ["node", "bin/legate.js"]
CMD ["serve", "--kubernetes"]
