# One image per service, from one Dockerfile (no `# syntax=` line: the builder's own Dockerfile frontend is used, so a
# build needs no registry pull beyond the base image; the legacy builder, DOCKER_BUILDKIT=0, works too):
#   docker build --target agent-api        -t skreaver/agent-api .
#   docker build --target ws-gateway       -t skreaver/ws-gateway .
#   docker build --target mesh-coordinator -t skreaver/mesh-coordinator .
# Every stage uses the same Debian (glibc) Node image, so better-sqlite3's native addon is compiled (or its
# prebuilt binary chosen) for exactly the libc it runs on. Node 22 is an LTS line (supported until 2027-04-30; Node 20
# ended on 2026-04-30); the code also runs on Node 20.19+ and 24 (`--build-arg NODE_IMAGE=node:24-bookworm-slim`).
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- manifests: only the package.json files, the lockfile and .npmrc (omit=peer), so `npm ci` below is cached until
# they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /out \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /out \; \
 && cp package-lock.json .npmrc /out/

# ---- deps: every dependency (dev ones too: the build needs swc); toolchain for native addons without a prebuild.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY --from=manifests /out/ ./
RUN npm ci --no-audit --no-fund

# ---- build: compile every lib and service to dist/, then drop dev dependencies and sources.
FROM deps AS build
COPY . .
RUN node tools/build.mjs \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf libs/*/src libs/*/test services/*/src services/*/test e2e tools

# ---- runtime: the production node_modules and the compiled libs, as an unprivileged user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    SKREAVER_DATA_DIR=/var/lib/skreaver
WORKDIR /app
RUN groupadd --system --gid 10001 skreaver \
 && useradd --system --uid 10001 --gid skreaver --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin skreaver \
 && mkdir -p /var/lib/skreaver \
 && chown skreaver:skreaver /var/lib/skreaver
# Owned by root and read-only for the service user: the code cannot be rewritten at run time.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
USER 10001:10001
# The services drain on SIGTERM (readiness 503, in-flight runs finish) within SHUTDOWN_TIMEOUT_MS (default 25 s).
STOPSIGNAL SIGTERM

FROM runtime AS agent-api
COPY --from=build /app/services/agent-api ./services/agent-api
# The web console's static build (React + Vite), served at /console.
COPY --from=build /app/services/console/dist ./services/console/dist
ENV PORT=8080
EXPOSE 8080
# No curl in slim images: node's fetch probes /health (liveness: no I/O).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "services/agent-api/dist/main.js"]

FROM runtime AS ws-gateway
COPY --from=build /app/services/ws-gateway ./services/ws-gateway
ENV PORT=8081
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8081)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "services/ws-gateway/dist/main.js"]

FROM runtime AS mesh-coordinator
COPY --from=build /app/services/mesh-coordinator ./services/mesh-coordinator
ENV PORT=8082
EXPOSE 8082
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8082)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "services/mesh-coordinator/dist/main.js"]
