# syntax=docker/dockerfile:1
#
# The tellyou binary, static, in a distroless image that runs as a non-root
# user. GO_VERSION follows go.mod's go line (deploy/composetest checks it);
# GOTOOLCHAIN=local makes a mismatch fail here instead of downloading a toolchain.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/tellyou ./cmd/tellyou

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tellyou /tellyou
# Listen on all interfaces inside the container (the binary's default is loopback).
ENV TELLYOU_ADDR=0.0.0.0:8080
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/tellyou"]
CMD ["serve"]
