# syntax=docker/dockerfile:1.7
#
# One image for every service of the pipeline; the first argument selects what runs:
#   docker run IMAGE ingestor | budget-tracker | api | alerter | simulator [options] | supervisor
#   docker run IMAGE adpipe <command> [options]      (or just: migrate | status | simulate | reprocess | ...)
#   docker run IMAGE <any other command>             (e.g. node -e ...)
# Production runs on Node 24 LTS (the development machines run Node 20.19+; dependencies work on both).
#
#   docker build -t adpipe:local .
ARG NODE_IMAGE=node:24-alpine

# ---------------------------------------------------------------- manifests
# Only package.json files, the lockfile and patches/ (patch-package applies them in npm ci's postinstall): the
# dependency layers below are rebuilt when these change, not on every source edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY . .
RUN find . -path ./node_modules -prune -o -path ./patches -prune -o -type f ! -name package.json ! -name package-lock.json -print0 \
      | xargs -0 rm -f \
 && find . -depth -type d -empty -delete

# ---------------------------------------------------------------- build (dev dependencies)
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /app ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
# tsc over every workspace, then the API's dashboard bundle (esbuild).
RUN npm run build
# What the runtime needs of each workspace: its manifest, compiled code and runtime assets (.sql, .lua, bins).
RUN mkdir -p /out \
 && for dir in packages/* services/*; do \
      mkdir -p "/out/$dir" && cp "$dir/package.json" "/out/$dir/"; \
      for part in dist sql lua bin; do if [ -e "$dir/$part" ]; then cp -R "$dir/$part" "/out/$dir/"; fi; done; \
    done \
 && find /out \( -name '*.tsbuildinfo' -o -name '*.map' -o -name '*.d.ts' \) -delete

# ---------------------------------------------------------------- production dependencies only
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /app ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root and read-only for the service user: the containers also run with a read-only root fs.
COPY --from=deps /app/node_modules ./node_modules
# The deps stage skips install scripts, so patch-package did not run there: the patched dependencies (one per
# file in patches/, none with dependencies of its own) come from the build stage, where npm ci applied them.
COPY --from=build /app/node_modules/kafkajs ./node_modules/kafkajs
COPY --from=deps /app/package.json ./package.json
COPY --from=build /out ./
COPY --chmod=0755 <<'EOF_ENTRYPOINT' /usr/local/bin/adpipe-entrypoint
#!/bin/sh
set -e
case "${1:-}" in
  ingestor|budget-tracker|api|alerter|simulator|supervisor)
    service="$1"; shift
    exec node "/app/services/$service/dist/main.js" "$@" ;;
  adpipe)
    shift
    exec node /app/packages/cli/bin/adpipe.js "$@" ;;
  migrate|status|simulate|reprocess|counts|rebuild-redis|reconcile|export)
    exec node /app/packages/cli/bin/adpipe.js "$@" ;;
  "")
    echo "usage: IMAGE ingestor|budget-tracker|api|alerter|simulator|adpipe <command> [args]" >&2
    exit 2 ;;
  *)
    exec "$@" ;;
esac
EOF_ENTRYPOINT
# The image's unprivileged user (uid 1000); Kubernetes checks runAsNonRoot against the numeric id.
USER 1000:1000
ENTRYPOINT ["/usr/local/bin/adpipe-entrypoint"]
CMD ["api"]
