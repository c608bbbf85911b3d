# ramp's container image, for builders with a container daemon
# (docker build -t ghcr.io/ramp-dev/ramp:dev .). `make image` builds the same
# image without one: static binaries on an empty base, the CA bundle, the
# non-root user 65532 (the chart's securityContext), the same entrypoint.
# Every command under cmd/ goes in, as make image does: a second binary
# (./cmd/<name>) needs no change here.
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH
# What `ramp version` prints (make build passes the same); unset, it reads the
# build's VCS information.
ARG VERSION=""
ARG COMMIT=""
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN for d in cmd/*/; do b=$(basename "$d"); \
      CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
        go build -trimpath -ldflags "-s -w ${VERSION:+-X main.version=$VERSION} ${COMMIT:+-X main.commit=$COMMIT}" \
          -o /out/usr/local/bin/$b ./cmd/$b || exit 1; \
    done
# The rest of the file system: CA bundle, passwd/group naming the user, its
# home, a sticky /tmp.
RUN mkdir -p /out/etc/ssl/certs /out/home/nonroot /out/tmp \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group \
 && chown 65532:65532 /out/home/nonroot && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HOME=/home/nonroot
WORKDIR /home/nonroot
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/ramp"]
