# Container images (included by the top-level Makefile).
# `make images` builds with docker when `docker info` works, else podman (see images/README.md).
IMAGE_TAG ?= 0.1.0
IMAGES_BIN := $(or $(BIN),.venv/bin)

.PHONY: podman-setup base-image images images-test

podman-setup: ## install + configure podman (no Docker engine needed; idempotent)
	bash scripts/setup-podman.sh

base-image: ## local Debian bookworm base for podman (debootstrap + podman import; cached)
	bash scripts/build-base-image.sh

images: ## build article-pipeline/publisher and article-pipeline/spark-job (docker or podman)
	IMAGE_TAG=$(IMAGE_TAG) bash scripts/build-images.sh

images-test: ## build and exercise both images (pytest -m images)
	$(IMAGES_BIN)/pytest -m images tests/images -v
