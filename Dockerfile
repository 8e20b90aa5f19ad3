# simrelay's container image: built from source, run as an unprivileged user.
#   docker build -t simrelay .
#   docker compose up -d            (simrelay + Redis; see compose.yaml)

# --- build: the release binary, with exactly the dependency versions in Cargo.lock
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin simrelay \
    && cp target/release/simrelay /usr/local/bin/simrelay

# --- runtime: Debian slim, curl for the health check, no compiler, no shell user
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 simrelay \
    && useradd --system --uid 10001 --gid simrelay --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin simrelay
COPY --from=build /usr/local/bin/simrelay /usr/local/bin/simrelay
# The container's config: Redis at redis:6379, platforms on 8080, everything else on 8081.
# compose.yaml mounts deploy/simrelay.compose.toml over it; tokens come from the environment.
COPY deploy/simrelay.compose.toml /etc/simrelay/simrelay.toml
USER simrelay:simrelay
EXPOSE 8080 8081
# Ready = holds the lease and has recovered its state (a standby answers 503).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8081/readyz"]
ENTRYPOINT ["/usr/local/bin/simrelay"]
CMD ["serve", "--config", "/etc/simrelay/simrelay.toml"]
