# The node agent's container image.
#
#   docker build -t multi-networkpolicy-tc:0.1.0 .
#   buildah bud -t multi-networkpolicy-tc:0.1.0 .        # daemonless, as root
#
# Stages: `build` typechecks the TypeScript and bundles the agent into dist/ (one minified
# ESM bundle, deploy/image/bundle.mjs; dev dependencies present), `prod-deps` installs the
# production dependencies only (the bundle leaves the native ffi-rs to them, and npm plugins
# resolve from there), the runtime stage is Node 20 slim + iproute2 (tc) + both.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY deploy/image/tsconfig.build.json deploy/image/bundle.mjs deploy/image/
COPY core core
COPY plugins plugins
COPY drivers drivers
RUN npx tsc -p deploy/image/tsconfig.build.json
RUN node deploy/image/bundle.mjs

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# tc (iproute2) for the cmdline driver; nothing else from Debian.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
COPY bin bin
ENV NODE_ENV=production
# Runs as root: CAP_NET_ADMIN (the only capability the DaemonSet adds) is effective for root
# only; the root filesystem is mounted read-only by the DaemonSet.
# --expose-gc: the agent collects its garbage once after a large pass (core/agent/heap-trim.ts).
ENTRYPOINT ["node", "--expose-gc", "/app/bin/multi-networkpolicy-tc.js"]
