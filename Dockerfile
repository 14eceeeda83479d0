# The operator image for users with Docker: the equivalent of `make image`,
# which builds the same layout without a Docker engine (src/dev/operator-image.ts):
# Node.js 24 and the shared libraries it loads, the operator as one esbuild
# bundle, user 65532, no shell. `make image` is the tested path; this file is
# provided for `docker build -t vso-ts:0.1.0 .` and is not exercised by the test suite.
FROM node:24-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
RUN node --disable-warning=ExperimentalWarning -e \
  'import("./src/dev/operator-image.ts").then(async (m) => require("node:fs").writeFileSync("/vso.mjs", await m.bundleOperator()))'
RUN mkdir -p /rootfs/usr/local/bin /rootfs/app /rootfs/etc /rootfs/home/nonroot \
  && cp /usr/local/bin/node /rootfs/usr/local/bin/node \
  && for lib in $(ldd /usr/local/bin/node | grep -o '/[^ ]*'); do mkdir -p "/rootfs$(dirname "$lib")" && cp -L "$lib" "/rootfs$lib"; done \
  && cp /vso.mjs /rootfs/app/vso.mjs \
  && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd \
  && printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group \
  && chown 65532:65532 /rootfs/home/nonroot

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin NODE_ENV=production
WORKDIR /app
USER 65532:65532
# The same Node flags as the chart (docs/benchmarks.md, "Node's flags"): a small young generation,
# size over speed, no optimizing compilers (JavaScript: TurboFan, Maglev; WebAssembly: TurboFan).
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=1", "--optimize-for-size", "--no-opt", "--no-maglev", "--liftoff-only", "--disable-warning=ExperimentalWarning", "/app/vso.mjs"]
CMD ["run"]
