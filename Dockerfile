# syntax=docker/dockerfile:1
# The relay as a container: a static musl binary on distroless (CA certificates, no shell), run as
# a non-root user, listening on $PORT. Build: docker build -t dbt-tableau-refresh-relay .

# rust:alpine builds for the host's musl target (x86_64 or aarch64), which links statically.
FROM rust:1.95-alpine AS build
# ring (TLS and JWT signatures) compiles a little C.
RUN apk add --no-cache gcc musl-dev
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dbt-tableau-refresh \
    && cp target/release/dbt-tableau-refresh /dbt-tableau-refresh

# distroless/static: CA certificates for api.github.com, a nonroot user (65532), nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /dbt-tableau-refresh /dbt-tableau-refresh
USER nonroot:nonroot
# Container platforms set PORT; the relay listens on 0.0.0.0:$PORT.
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/dbt-tableau-refresh", "relay"]
