# compstatd in a container (Debian 12, packages from Debian only).
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libevent-dev libpq-dev libcjson-dev libssl-dev \
        libsodium-dev libqrencode-dev libjs-leaflet \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY lib lib
COPY server server
COPY tools tools
COPY tests tests
COPY migrations migrations
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOMPSTAT_TESTS=OFF \
    && cmake --build build -j"$(nproc)"

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libevent-2.1-7 libpq5 libcjson1 libssl3 libsodium23 libqrencode4 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/compstatd /src/build/compstat-admin /usr/local/bin/
COPY migrations /usr/share/compstatd/migrations
ENV COMPSTAT_MIGRATIONS_DIR=/usr/share/compstatd/migrations
USER nobody
EXPOSE 8080
HEALTHCHECK CMD curl -fs http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["compstatd", "--listen", "0.0.0.0:8080"]
