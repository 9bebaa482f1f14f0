# syntax=docker/dockerfile:1
# The operator image: `docker build -t ecs-operator:0.1.0 .` (docs/install.md).
#
# The base image is pinned by version tag, and for reproducible release builds by digest too:
#   docker buildx imagetools inspect python:3.11.14-slim     # prints the index digest
#   docker build --build-arg PYTHON_DIGEST=sha256:<that digest> -t ecs-operator:0.1.0 .
# PYTHON_DIGEST is the digest placeholder: empty, the tag alone is used (a tag can move; a
# digest cannot). Builder and final stage share the base, so the venv's interpreter symlinks
# resolve in the final image.
ARG PYTHON_VERSION=3.11.14
ARG PYTHON_DIGEST=""

FROM python:${PYTHON_VERSION}-slim${PYTHON_DIGEST:+@${PYTHON_DIGEST}} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The image installs exactly what was tested: the locks (`make lock`) pin every package with the
# sha256 of each of its wheels, and pip refuses anything else. The runtime dependencies go into
# the image's venv, the build backend into a throwaway one. A layer of its own, rebuilt only
# when the locks change.
COPY requirements/image.lock requirements/build.lock ./requirements/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps --only-binary :all: \
      -r requirements/image.lock \
 && python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --no-deps --only-binary :all: \
      -r requirements/build.lock
# Only what the package build needs (.dockerignore keeps the rest of the tree out).
COPY pyproject.toml README.md ./
COPY operator ./operator
# The package itself: built by the locked setuptools (pip's build isolation would fetch an
# unverified one), installed without dependencies; `pip check` fails the build when the lock
# misses one. No dev tools in the image: neither the package's extras ([plugin]: the official
# kubernetes client; [dev]) nor devtools/ (devcluster, demo), a distribution of its own.
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels /src \
 && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/ecs-operator run --help >/dev/null

FROM python:${PYTHON_VERSION}-slim${PYTHON_DIGEST:+@${PYTHON_DIGEST}}
# A passwd entry for uid 65532: kopf names its peering identity after the user (getpass), which
# fails for a uid without one when POD_ID is not set.
RUN groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin nonroot
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Non-root, numeric so the kubelet can verify runAsNonRoot without reading /etc/passwd.
USER 65532:65532
# 8080: Prometheus metrics, 8081: kopf's liveness endpoint (/healthz).
EXPOSE 8080 8081 51679
ENTRYPOINT ["ecs-operator"]
CMD ["run", "--all-namespaces"]
