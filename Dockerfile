# kconv serve in a container: a multi-stage build, then a slim Debian 12
# runtime holding only the shared libraries kconv links (libhdf5 and
# libhdf5_hl, serial: `readelf -d` lists them and libc as the binary's only
# NEEDED libraries; OpenBLAS is linked only with -tags openblas, which this
# build does not use) and the binary. Mount a model at /models or bake one in:
#
#   docker build -t kconv .
#   docker run --rm -p 8080:8080 -v $PWD/model:/models:ro kconv serve /models/model.keras
#
# FROM kconv, then COPY model.keras /models/ bakes a model into an image.
# The image runs as an unprivileged user and listens on 0.0.0.0:8080
# (KServe's default HTTP port); see docs/serving.md.

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libhdf5-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/kconv ./cmd/kconv

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libhdf5-103-1 libhdf5-hl-100 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home kconv \
 && mkdir /models
COPY --from=build /out/kconv /usr/local/bin/kconv
# Fails the build if the runtime stage lacks a library the binary needs.
RUN kconv version
USER 10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kconv"]
CMD ["serve", "--addr", "0.0.0.0:8080", "/models/model.keras"]
