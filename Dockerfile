# The webhook-receiver image: one static binary on an empty (scratch) base,
# with CA certificates (the LMS is HTTPS) and no shell or package manager.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t webhook-receiver .
#   docker run --read-only -p 8000:8000 -v webhook-receiver:/var/lib/webhook-receiver \
#     -e WEBHOOK_RECEIVER_LMS_BASE_URL=https://lms.example.com ... webhook-receiver
#
# See "Container image" in the README. The build stage needs the golang image
# (network access); cmd/webhook-receiver/image_test.go builds and runs the
# final stage, as written here, from a binary built the same way.

ARG GO_VERSION=1.26

# Build on the builder's own platform, for the target's (docker buildx
# --platform linux/arm64 cross-compiles: the binary needs no C toolchain).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The binary and the files the final stage copies, under /rootfs: the Debian
# CA bundle, a passwd/group naming user 65532 (the name the command-line
# tools record as the operator); and /data, the empty data directory, copied
# on its own to be given to user 65532 (its parents stay root's).
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/openedx-webhook-receiver/webhook-receiver/internal/cli.version=${VERSION}" \
      -o /rootfs/webhook-receiver ./cmd/webhook-receiver \
 && mkdir -p /rootfs/etc/ssl/certs /rootfs/var/lib /data \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && echo 'nonroot:x:65532:65532:webhook-receiver:/var/lib/webhook-receiver:/sbin/nologin' >/rootfs/etc/passwd \
 && echo 'nonroot:x:65532:' >/rootfs/etc/group

# The image. Everything below is what the test builds and runs.
FROM scratch
COPY --from=build /rootfs/ /
COPY --from=build --chown=65532:65532 /data /var/lib/webhook-receiver
USER 65532:65532
# Times are UTC (there is no /etc/localtime and no tzdata: none is needed).
# The SQLite database, and SQLite's temporary files, are on the volume: the
# root filesystem can be read-only. Listen on every address, port 8000.
ENV WEBHOOK_RECEIVER_DATABASE_URL=sqlite:/var/lib/webhook-receiver/webhook-receiver.db \
    WEBHOOK_RECEIVER_LISTEN=:8000 \
    TMPDIR=/var/lib/webhook-receiver
WORKDIR /var/lib/webhook-receiver
VOLUME ["/var/lib/webhook-receiver"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["/webhook-receiver", "healthcheck"]
ENTRYPOINT ["/webhook-receiver"]
CMD ["serve"]
