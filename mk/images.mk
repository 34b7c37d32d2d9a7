# Container images (included by the top-level Makefile).
#   make podman-setup   install + configure podman (no Docker engine needed; idempotent)
#   make base-image     local Debian bookworm base for podman (debootstrap + podman import)
#   make images         build article-pipeline/publisher and article-pipeline/spark-job
#                       with docker when `docker info` works, else podman
#   make images-test    build and exercise both images (pytest -m images)
IMAGE_TAG ?= 0.1.0
IMAGES_PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: podman-setup base-image images images-test

podman-setup:
	bash scripts/setup-podman.sh

base-image:
	bash scripts/build-base-image.sh

images:
	IMAGE_TAG=$(IMAGE_TAG) bash scripts/build-images.sh

images-test:
	$(IMAGES_PYTHON) -m pytest -m images tests/images -v
