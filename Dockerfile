# syntax=docker/dockerfile:1
#
# roster's images, on Debian 12 like everything else here:
#
#   docker build --target agent -t roster-agent:0.1.0 .   # the agent (the default target)
#   docker build --target cache -t roster-cache:0.1.0 .   # the example cache, examples/cache
#
# The build stage compiles `roster` (tools/, the command line) and
# `roster-cache` (examples/cache, built against the installed package as
# any application would be) in Release; the runtime stages are
# debian:12-slim with the shared libraries those two load, installed from
# apt, and nothing else: no compiler, no headers, no tests. Both runtime
# images hold both binaries (the cache's image has `roster members` for
# looking at its cluster); they differ in the entrypoint. The process runs
# as the unprivileged user roster (uid and gid 10001) under tini, which
# passes SIGTERM on (the agent then leaves the cluster gracefully) and
# reaps what event handlers leave behind. deploy/kubernetes runs the agent.

# ---------------------------------------------------------------- build
FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
# What the libraries and the command line build with (third_party/README.md;
# scripts/install-deps has these and the test and fuzz tools besides).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      protobuf-compiler libprotobuf-dev libabsl-dev \
      libuv1-dev libc-ares-dev libsodium-dev libre2-dev \
      libcli11-dev nlohmann-json3-dev libtomlplusplus-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Parallel compile jobs (default: the native tool's, one per core and two).
ARG JOBS=
# The release preset without tests and benchmarks (so without GTest and
# Google Benchmark). `cmake --install` wants every target its rules name,
# so roster-sim is built too (it is small, and not copied).
RUN cmake --preset release -DBUILD_TESTING=OFF -DROSTER_BENCH=OFF \
 && cmake --build --preset release --target roster_cli roster-sim ${JOBS:+-j "$JOBS"} \
 && cmake --install build --prefix /opt/roster \
 && cmake -S examples/cache -B build-cache -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=/opt/roster \
 && cmake --build build-cache ${JOBS:+-j "$JOBS"} \
 && install -d /out/bin \
 && install -s /opt/roster/bin/roster build-cache/roster-cache /out/bin/ \
 && deploy/docker/runtime-packages /out/bin/roster /out/bin/roster-cache \
      > /out/runtime-packages \
 && /out/bin/roster --help > /dev/null

# ---------------------------------------------------------------- runtime
FROM debian:12-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages /tmp/runtime-packages
# hadolint ignore=SC2046
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && groupadd --system --gid 10001 roster \
 && useradd --system --uid 10001 --gid roster --no-create-home \
      --home-dir /var/lib/roster --shell /usr/sbin/nologin roster \
 && install -d -o roster -g roster -m 0750 /var/lib/roster
COPY --from=build /out/bin/roster /out/bin/roster-cache /usr/local/bin/
LABEL org.opencontainers.image.title="roster" \
      org.opencontainers.image.description="SWIM/Lifeguard cluster membership: the roster agent and the example cache" \
      org.opencontainers.image.base.name="debian:12-slim"
USER 10001:10001
WORKDIR /var/lib/roster

# ---------------------------------------------------------------- cache
FROM runtime AS cache
# roster (UDP and TCP), and the cache's line protocol for clients.
EXPOSE 7946/udp 7946/tcp 7400/tcp
ENTRYPOINT ["/usr/bin/tini", "--", "roster-cache"]
CMD ["--help"]

# ---------------------------------------------------------------- agent
# Last, so that a plain `docker build .` makes the agent.
FROM runtime AS agent
# roster (UDP and TCP), and the metrics (--metrics-addr).
EXPOSE 7946/udp 7946/tcp 9090/tcp
# Ready: running, not left, joined (the agent's RPC on 127.0.0.1:7373).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s \
  CMD ["roster", "info", "--ready"]
ENTRYPOINT ["/usr/bin/tini", "--", "roster", "agent"]
CMD ["--help"]
