# The reconciler image: build with the full toolchain, run on a small non-root base with a
# read-only root filesystem (deploy/deployment.yaml mounts writable /var/lib/lifeboat and /tmp).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY policies/schema ./policies/schema
RUN npm run build && npm prune --omit=dev

# restic, the engine of file-system volume backups (`lifeboat agent`), built from its release on
# the Go module proxy (the version in test/ground/versions.json; scripts/build-restic.sh builds
# the same for the test ground). Debian's restic (0.14) lacks the exit codes the agent reads.
FROM golang:1.26-bookworm AS restic
RUN CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" \
    github.com/restic/restic/cmd/restic@v0.18.1

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=restic /go/bin/restic /usr/local/bin/restic
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/policies/schema ./policies/schema
COPY package.json ./
COPY bin ./bin
USER 65532:65532
ENV HOME=/var/lib/lifeboat NODE_ENV=production
# 8 MB semi-spaces: 10–40 MB less peak memory per backup for a few per cent more CPU
# (docs/decisions/0009-backup-memory.md). A heap capped at 384 MB, under deploy/'s 512Mi limit
# with room for code and buffers: V8 then grows its heap in smaller steps instead of filling
# the limit with garbage, ~45 MB less at 100,000 objects for ~9% more time
# (docs/decisions/0011-heap-cap.md). The backup benchmark reads these flags from here.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--max-old-space-size=384", "/app/bin/lifeboat.js"]
CMD ["run"]
