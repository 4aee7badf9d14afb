# syntax=docker/dockerfile:1
#
# leadrotor's image: one static binary on distroless, run as a non-root user.
#
#   docker build -t leadrotor .
#   docker run --rm -p 8080:8080 -v leadrotor-data:/data --stop-timeout 60 leadrotor
#
# That serves on the embedded default, a SQLite file in the volume /data;
# compose.yaml runs two servers on PostgreSQL and Redis. docs/deploy.md says
# which settings matter. No Docker engine runs in CI: scripts/package-check.sh
# builds the binary with this file's build line and Go version (it fails when
# either differs from what it builds and from go.mod) and runs it as a
# non-root user without zoneinfo on the disk.

# The build: go.mod's Go version exactly (package-check.sh compares them).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Modules first, so that a change to the code alone does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Static and CGO-free (the SQLite driver is modernc's, in Go), without paths
# of this machine or debug symbols. Time zones need no zoneinfo on the disk:
# cmd/leadrotor imports time/tzdata, which embeds the IANA database.
# package-check.sh runs this same line, so keep it on one line.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/leadrotor ./cmd/leadrotor
# The data directory of the SQLite default, owned by the user the server runs as.
RUN mkdir -p /out/data

# The image: no shell, no package manager; CA certificates (for rediss://,
# PostgreSQL over TLS, webhooks and SMTP), /etc/passwd with the nonroot user
# and zoneinfo come with distroless's static image.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leadrotor /leadrotor
COPY --from=build --chown=65532:65532 /out/data /data
# nonroot, by number, so that a runtime that checks runAsNonRoot can see it.
USER 65532:65532
WORKDIR /data
ENV LEADROTOR_DATABASE_URL=file:/data/leadrotor.db
VOLUME /data
EXPOSE 8080
# No HEALTHCHECK: it would run inside the container, and the image has no
# shell and no HTTP client to ask /readyz with (the binary has no probe
# command). Probe from outside instead: GET /healthz (the process serves) and
# GET /readyz (200 "ready", 200 "degraded" without Redis, 503 without the
# database), from the orchestrator or the load balancer.
#
# On SIGTERM the server stops accepting, finishes what is in flight within
# --shutdown-timeout (15s), then stops webhook deliveries within as long
# again: give it more than Docker's default 10 seconds (--stop-timeout 60,
# compose's stop_grace_period).
ENTRYPOINT ["/leadrotor"]
CMD ["serve"]
