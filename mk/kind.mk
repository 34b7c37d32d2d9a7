# mk/kind.mk - Kubernetes (kind) loop for article-pipeline. Included by the top-level Makefile.
#
#   make k8s-tools kind-up kind-load operator deploy health logs undeploy kind-down
#
# helm/kubectl come from scripts/fetch-k8s-tools.sh (.tools/bin). kind v0.30.0 is built from the
# Go module proxy into ~/.cache/article-pipeline/bin by images/kind-node/install-kind.sh.
# kind-up/kind-load/kind-down run images/kind-node/cluster.sh: with a Docker engine and a
# reachable registry it uses the stock kindest/node image (pinned by digest); otherwise kind's
# podman provider and a node image built locally from source (images/kind-node/build.sh).

HELM ?= .tools/bin/helm
KUBECTL ?= .tools/bin/kubectl
KIND_CLUSTER_SH ?= images/kind-node/cluster.sh
NAMESPACE ?= article-pipeline
RELEASE ?= article-pipeline

KIND_CLUSTER ?= article-pipeline
KIND_CONFIG ?= kind-config.yaml
# Empty: cluster.sh picks the stock image (docker + registry) or builds
# localhost/article-pipeline/kind-node:v1.34.4. Set it to force a node image.
KIND_NODE_IMAGE ?=
KUBE_CONTEXT ?= kind-$(KIND_CLUSTER)
K8S_IMAGES ?= article-pipeline/publisher:0.1.0 article-pipeline/spark-job:0.1.0

# Container engine of this machine: docker when its engine answers, else podman.
ENGINE ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo podman)

CHART_DIR ?= charts/article-pipeline
# Offline (podman, no registry): every image under its localhost/ name (ci/kind-values.yaml);
# with a Docker engine the upstream-style names of ci/default-values.yaml.
CHART_VALUES ?= $(CHART_DIR)/ci/$(if $(filter docker,$(ENGINE)),default,kind)-values.yaml
DEPLOY_TIMEOUT ?= 10m
# LocalStack 4.14.0 built from PyPI by images/localstack/build.sh (what kind-values.yaml runs).
LOCALSTACK_IMAGE ?= localhost/article-pipeline/localstack:4.14.0

# Spark Operator 2.5.2: image built from its Go module (images/spark-operator/build.sh), chart
# extracted from the same module (images/spark-operator/chart.sh): no chart repository needed.
SPARK_OPERATOR_VERSION ?= 2.5.2
SPARK_OPERATOR_NAMESPACE ?= spark-operator
SPARK_OPERATOR_IMAGE ?= localhost/article-pipeline/spark-operator:$(SPARK_OPERATOR_VERSION)
SPARK_OPERATOR_VALUES ?= images/spark-operator/values.yaml
# The chart's pod templates carry volumes, env and security contexts: the mutating webhook is
# not needed (and stays off, so nothing depends on it). WEBHOOK=true turns it on.
SPARK_OPERATOR_WEBHOOK ?= false

# Local port for `make health` (kind maps the publisher NodePort to 127.0.0.1:18000).
HEALTH_PORT ?= 18001

KCTL = $(KUBECTL) --context $(KUBE_CONTEXT)
HELM_K = $(HELM) --kube-context $(KUBE_CONTEXT)
# Fetch helm/kubectl on demand only when the defaults under .tools/bin are used.
K8S_TOOLS := $(filter .tools/bin/%,$(HELM) $(KUBECTL))

.PHONY: k8s-tools kind-up kind-load operator deploy health logs undeploy kind-down operator-image localstack-image kind-node-image kind-images print-chart-values

# load_image IMAGE: put IMAGE into the kind node unless the node already holds that very image
# (same image ID), so repeated `make operator`/`make deploy` skip the multi-second save/load.
define load_image
	@id="$$($(ENGINE) image inspect --format '{{.Id}}' $(1) 2>/dev/null | sed 's/^sha256://')"; \
	test -n "$$id" || { echo "image $(1) not found in $(ENGINE)" >&2; exit 1; }; \
	if $(ENGINE) exec $(KIND_CLUSTER)-control-plane crictl inspecti -o json $(1) 2>/dev/null | grep -q "sha256:$$id"; then \
	  echo "$(1) already loaded into $(KIND_CLUSTER)"; \
	else \
	  KIND_CLUSTER=$(KIND_CLUSTER) bash $(KIND_CLUSTER_SH) load $(1); \
	fi
endef

k8s-tools: ## Fetch pinned helm and kubectl into .tools/bin
	bash scripts/fetch-k8s-tools.sh

$(K8S_TOOLS):
	bash scripts/fetch-k8s-tools.sh

kind-up: | $(K8S_TOOLS) ## Create the single-node kind cluster and wait for the node Ready (idempotent)
	KIND_CLUSTER=$(KIND_CLUSTER) KIND_CONFIG=$(KIND_CONFIG) KUBECTL=$(KUBECTL) \
	  KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) bash $(KIND_CLUSTER_SH) up

kind-node-image: ## Build the kind node image from source unless it exists (with Docker and a registry: the stock kindest/node)
	KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) bash $(KIND_CLUSTER_SH) image

kind-images: images kind-node-image operator-image localstack-image ## Build every image the kind loop needs (cached; .ci/run runs it in the background)

kind-load: ## Load the publisher and spark-job images into kind (docker or podman)
	KIND_CLUSTER=$(KIND_CLUSTER) bash $(KIND_CLUSTER_SH) load $(K8S_IMAGES)

operator-image: ## Build the Spark Operator image from source unless it exists (cached)
	@$(ENGINE) image inspect $(SPARK_OPERATOR_IMAGE) >/dev/null 2>&1 || \
	  CONTAINER_ENGINE=$(ENGINE) SPARK_OPERATOR_IMAGE=$(SPARK_OPERATOR_IMAGE) bash images/spark-operator/build.sh

localstack-image: ## Build the LocalStack 4.14.0 image from PyPI unless it exists (cached)
	@$(ENGINE) image inspect $(LOCALSTACK_IMAGE) >/dev/null 2>&1 || \
	  CONTAINER_ENGINE=$(ENGINE) bash images/localstack/build.sh

operator: operator-image | $(K8S_TOOLS) ## Install the Spark Operator (own release, chart from its Go module, watching $(NAMESPACE))
	$(call load_image,$(SPARK_OPERATOR_IMAGE))
	$(KCTL) create namespace $(NAMESPACE) --dry-run=client -o yaml | $(KCTL) apply -f -
	chart="$$(bash images/spark-operator/chart.sh)" && \
	$(HELM_K) upgrade --install spark-operator "$$chart" \
	  --namespace $(SPARK_OPERATOR_NAMESPACE) --create-namespace \
	  -f $(SPARK_OPERATOR_VALUES) \
	  --set 'spark.jobNamespaces={$(NAMESPACE)}' \
	  --set webhook.enable=$(SPARK_OPERATOR_WEBHOOK) \
	  --wait --timeout 5m

deploy: $(if $(findstring kind-values,$(CHART_VALUES)),localstack-image) | $(K8S_TOOLS) ## helm upgrade --install the umbrella chart (kind + LocalStack values) and wait
	$(if $(findstring kind-values,$(CHART_VALUES)),$(call load_image,$(LOCALSTACK_IMAGE)))
	@limit="$$($(ENGINE) inspect --format '{{.HostConfig.PidsLimit}}' $(KIND_CLUSTER)-control-plane 2>/dev/null || echo 0)"; \
	if [ "$${limit:-0}" -gt 0 ] && [ "$$limit" -lt 8192 ]; then \
	  echo "WARNING: the kind node container may run only $$limit processes/threads (podman's default pids_limit)." >&2; \
	  echo "  Spark's JVMs need more: the driver dies with 'unable to create native thread'." >&2; \
	  echo "  Set pids_limit = 0 in containers.conf [containers] and recreate the cluster." >&2; \
	fi
	$(HELM_K) upgrade --install $(RELEASE) $(CHART_DIR) \
	  --namespace $(NAMESPACE) --create-namespace \
	  -f $(CHART_VALUES) \
	  --wait --timeout $(DEPLOY_TIMEOUT)

health: | $(K8S_TOOLS) ## Port-forward the publisher Service to 127.0.0.1:$(HEALTH_PORT) and GET /health
	@set -e; \
	$(KCTL) -n $(NAMESPACE) port-forward --address 127.0.0.1 svc/$(RELEASE)-publisher $(HEALTH_PORT):8000 >/dev/null 2>&1 & pf=$$!; \
	trap 'kill $$pf 2>/dev/null || true' EXIT; \
	for i in $$(seq 1 30); do \
	  if curl -fsS --max-time 2 http://127.0.0.1:$(HEALTH_PORT)/health; then echo; exit 0; fi; \
	  kill -0 $$pf 2>/dev/null || { echo "port-forward exited" >&2; exit 1; }; \
	  sleep 1; \
	done; \
	echo "publisher /health did not answer 200" >&2; exit 1

logs: | $(K8S_TOOLS) ## Pods, the SparkApplication, and recent logs of the publisher, the Spark driver and LocalStack
	-$(KCTL) -n $(NAMESPACE) get pods,sparkapplications,pvc
	-$(KCTL) -n $(NAMESPACE) logs deploy/$(RELEASE)-publisher --tail=30
	-$(KCTL) -n $(NAMESPACE) logs $(RELEASE)-spark-job-driver -c checkpoint-guard --tail=20
	-$(KCTL) -n $(NAMESPACE) logs $(RELEASE)-spark-job-driver -c spark-kubernetes-driver --tail=100
	-$(KCTL) -n $(NAMESPACE) logs deploy/$(RELEASE)-localstack --tail=30

undeploy: | $(K8S_TOOLS) ## Reset: uninstall (waiting for every object), delete the release's PVCs (kept ones too) and wait for its pods to go
	-$(HELM_K) uninstall $(RELEASE) --namespace $(NAMESPACE) --wait --timeout 5m
	$(KCTL) -n $(NAMESPACE) delete pvc -l app.kubernetes.io/instance=$(RELEASE) --ignore-not-found --wait
	@for i in $$(seq 1 150); do \
	  left="$$($(KCTL) -n $(NAMESPACE) get pods -l app.kubernetes.io/instance=$(RELEASE) -o name)"; \
	  [ -z "$$left" ] && { echo "release $(RELEASE) removed: no pod, no PVC left"; exit 0; }; \
	  sleep 2; \
	done; echo "pods still there after 5 minutes: $$left" >&2; exit 1

print-chart-values: ## Print the values file `make deploy` uses here
	@echo $(CHART_VALUES)

kind-down: ## Delete the kind cluster (fails if a node container is left)
	KIND_CLUSTER=$(KIND_CLUSTER) bash $(KIND_CLUSTER_SH) down
