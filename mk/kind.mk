# mk/kind.mk - Kubernetes (kind) loop for article-pipeline. Included by the top-level Makefile.
#
#   make k8s-tools kind-up kind-load operator deploy health logs undeploy kind-down
#
# helm/kubectl come from scripts/fetch-k8s-tools.sh (.tools/bin). kind v0.30.0 is built from the
# Go module proxy into ~/.cache/article-pipeline/bin by scripts/kind/install-kind.sh.
# kind-up/kind-load/kind-down run scripts/kind/cluster.sh: with a Docker engine and a
# reachable registry it uses the stock kindest/node image (pinned by digest); otherwise kind's
# podman provider and a node image built locally from source (images/kind-node/). Every image
# is built by scripts/build-image.sh <folder under images/>. Every target that needs a
# container engine checks for one first (engine-check) and says how to get one.

HELM ?= .tools/bin/helm
KUBECTL ?= .tools/bin/kubectl
KIND_CLUSTER_SH ?= scripts/kind/cluster.sh
NAMESPACE ?= article-pipeline
RELEASE ?= article-pipeline

KIND_CLUSTER ?= article-pipeline
KIND_CONFIG ?= kind-config.yaml
# Empty: cluster.sh picks the stock image (docker + registry) or builds
# localhost/article-pipeline/kind-node:v1.34.4. Set it to force a node image.
KIND_NODE_IMAGE ?=
KUBE_CONTEXT ?= kind-$(KIND_CLUSTER)
# The app images under their content tags (article-pipeline/<image>:0.1.0-<12 hex>, computed from
# the build inputs, not built: scripts/build-image.sh --print): what `make images` builds,
# `make kind-load` loads and `make deploy` hands the chart, so driver and executors run one build.
# Computed when a recipe first needs it (after `make images` in `make images kind-load`), once.
K8S_IMAGES ?= $(eval K8S_IMAGES := $(shell IMAGE_TAG=$(IMAGE_TAG) bash scripts/build-image.sh --print publisher spark-job))$(K8S_IMAGES)
# the tag of one of K8S_IMAGES: $(call k8s_image_tag,publisher)
k8s_image_tag = $(strip $(foreach image,$(K8S_IMAGES),$(if $(findstring /$(1):,$(image)),$(lastword $(subst :, ,$(image))))))
# podman names them localhost/...: the name the node holds them under, so a loaded image is skipped
K8S_LOAD_IMAGES = $(if $(filter podman,$(ENGINE)),$(foreach image,$(K8S_IMAGES),$(if $(filter localhost/%,$(image)),$(image),localhost/$(image))),$(K8S_IMAGES))
CHART_IMAGE_TAGS = --set publisher.image.tag=$(call k8s_image_tag,publisher) --set spark-job.image.tag=$(call k8s_image_tag,spark-job)

# Container engine of this machine: docker when its engine answers, else podman.
ENGINE ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo podman)

CHART_DIR ?= charts/article-pipeline
# Offline (podman, no registry): every image under its localhost/ name (ci/kind-values.yaml);
# with a Docker engine the upstream-style names of ci/default-values.yaml.
CHART_VALUES ?= $(CHART_DIR)/ci/$(if $(filter docker,$(ENGINE)),default,kind)-values.yaml
DEPLOY_TIMEOUT ?= 10m
# LocalStack 4.14.0 built from PyPI (images/localstack/; what kind-values.yaml runs).
LOCALSTACK_IMAGE ?= localhost/article-pipeline/localstack:4.14.0

# Spark Operator 2.5.2: image built from its Go module (images/spark-operator/), chart
# extracted from the same module (scripts/kind/spark-operator-chart.sh): no chart repository needed.
SPARK_OPERATOR_VERSION ?= 2.5.2
SPARK_OPERATOR_NAMESPACE ?= spark-operator
SPARK_OPERATOR_IMAGE ?= localhost/article-pipeline/spark-operator:$(SPARK_OPERATOR_VERSION)
SPARK_OPERATOR_VALUES ?= images/spark-operator/values.yaml
# The chart's pod templates carry volumes, env and security contexts: the mutating webhook is
# not needed (and stays off, so nothing depends on it). WEBHOOK=true turns it on.
SPARK_OPERATOR_WEBHOOK ?= false

# Pod Security Standard `make deploy` enforces on the release's namespace (and warns and audits at):
# every pod of the chart, Spark's driver and executors included, passes "restricted".
POD_SECURITY_LEVEL ?= restricted
POD_SECURITY_LABELS = $(foreach mode,enforce warn audit,pod-security.kubernetes.io/$(mode)=$(POD_SECURITY_LEVEL))

# Local port for `make health` (kind maps the publisher NodePort to 127.0.0.1:18000).
HEALTH_PORT ?= 18001

# kubectl and helm aimed at the cluster of KUBE_CONTEXT
KUBECTL_IN_CONTEXT = $(KUBECTL) --context $(KUBE_CONTEXT)
HELM_IN_CONTEXT = $(HELM) --kube-context $(KUBE_CONTEXT)
# what the scripts under scripts/kind/ read
KIND_ENV = KIND_CLUSTER=$(KIND_CLUSTER) CONTAINER_ENGINE=$(ENGINE)
CLUSTER_ENV = HELM=$(HELM) KUBECTL=$(KUBECTL) KUBE_CONTEXT=$(KUBE_CONTEXT) NAMESPACE=$(NAMESPACE) RELEASE=$(RELEASE)
# Fetch helm/kubectl on demand only when the defaults under .tools/bin are used.
K8S_TOOLS := $(filter .tools/bin/%,$(HELM) $(KUBECTL))

.PHONY: engine-check k8s-tools kind-up kind-load operator deploy health logs undeploy kind-down operator-image localstack-image kind-node-image kind-images

engine-check: ## Check for a container engine (docker or podman) first; without one, say how to get one
	@bash scripts/container-engine.sh >/dev/null

k8s-tools: ## Fetch pinned helm and kubectl into .tools/bin
	bash scripts/fetch-k8s-tools.sh

$(K8S_TOOLS):
	bash scripts/fetch-k8s-tools.sh

kind-up: engine-check | $(K8S_TOOLS) ## Create the kind cluster (control plane + 2 workers) and wait for the nodes Ready (idempotent)
	KIND_CLUSTER=$(KIND_CLUSTER) KIND_CONFIG=$(KIND_CONFIG) KUBECTL=$(KUBECTL) \
	  KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) bash $(KIND_CLUSTER_SH) up

kind-node-image: engine-check ## Build the kind node image from source unless it exists (with Docker and a registry: the stock kindest/node)
	KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) bash $(KIND_CLUSTER_SH) image

kind-images: engine-check images kind-node-image operator-image localstack-image netpol-image prometheus-image ## Build every image the kind loop needs (cached; .ci/run runs it in the background)

kind-load: engine-check ## Load the publisher and spark-job images (their content tags) into kind (docker or podman)
	@$(KIND_ENV) bash scripts/kind/load-image.sh $(K8S_LOAD_IMAGES)

operator-image: engine-check ## Build the Spark Operator image from source unless up to date (cached)
	@CONTAINER_ENGINE=$(ENGINE) bash scripts/build-image.sh spark-operator

localstack-image: engine-check ## Build the LocalStack 4.14.0 image from PyPI unless up to date (cached)
	@CONTAINER_ENGINE=$(ENGINE) bash scripts/build-image.sh localstack

.PHONY: netpol-image
netpol-image: engine-check ## Build kube-router (NetworkPolicy only, images/kube-router-np/) from source unless up to date (cached; kind-up installs it on the local node image)
	@CONTAINER_ENGINE=$(ENGINE) bash scripts/build-image.sh kube-router-np

.PHONY: prometheus-image
prometheus-image: engine-check ## Build the Prometheus 3.16.0 server (images/prometheus/, the promtool pin) from source unless up to date (cached)
	@CONTAINER_ENGINE=$(ENGINE) bash scripts/build-image.sh prometheus

operator: engine-check operator-image | $(K8S_TOOLS) ## Install the Spark Operator (own release, chart from its Go module, watching $(NAMESPACE))
	@$(KIND_ENV) bash scripts/kind/load-image.sh $(SPARK_OPERATOR_IMAGE)
	$(KUBECTL_IN_CONTEXT) create namespace $(NAMESPACE) --dry-run=client -o yaml | $(KUBECTL_IN_CONTEXT) apply -f -
	chart="$$(bash scripts/kind/spark-operator-chart.sh)" && \
	$(HELM_IN_CONTEXT) upgrade --install spark-operator "$$chart" \
	  --namespace $(SPARK_OPERATOR_NAMESPACE) --create-namespace \
	  -f $(SPARK_OPERATOR_VALUES) \
	  --set 'spark.jobNamespaces={$(NAMESPACE)}' \
	  --set webhook.enable=$(SPARK_OPERATOR_WEBHOOK) \
	  --wait --timeout 5m

# The host reaches the publisher and LocalStack NodePorts (127.0.0.1:18000, 127.0.0.1:14566) from the
# kind network's gateway: `make deploy` lets that subnet in through the NetworkPolicies
# (networkPolicy.ingressFrom; scripts/kind/node-network.sh prints it). DEPLOY_ARGS: more helm
# arguments, e.g. DEPLOY_ARGS="--set publisher.publish.rate=8".
DEPLOY_ARGS ?=

deploy: engine-check $(if $(findstring kind-values,$(CHART_VALUES)),localstack-image) | $(K8S_TOOLS) ## Label the namespace Pod Security "restricted", helm upgrade --install the umbrella chart (kind + LocalStack values) and wait
	$(if $(findstring kind-values,$(CHART_VALUES)),@$(KIND_ENV) bash scripts/kind/load-image.sh $(LOCALSTACK_IMAGE))
	@$(KIND_ENV) bash scripts/kind/check-pids-limit.sh
	$(KUBECTL_IN_CONTEXT) create namespace $(NAMESPACE) --dry-run=client -o yaml | $(KUBECTL_IN_CONTEXT) apply -f -
	$(KUBECTL_IN_CONTEXT) label namespace $(NAMESPACE) --overwrite $(POD_SECURITY_LABELS)
	host_network="$$(bash scripts/kind/node-network.sh)" && \
	$(HELM_IN_CONTEXT) upgrade --install $(RELEASE) $(CHART_DIR) \
	  --namespace $(NAMESPACE) --create-namespace \
	  -f $(CHART_VALUES) $(CHART_IMAGE_TAGS) \
	  --set "networkPolicy.ingressFrom[0].ipBlock.cidr=$$host_network" $(DEPLOY_ARGS) \
	  --wait --timeout $(DEPLOY_TIMEOUT)

health: | $(K8S_TOOLS) ## Port-forward the publisher Service to 127.0.0.1:$(HEALTH_PORT) and GET /health
	@$(CLUSTER_ENV) HEALTH_PORT=$(HEALTH_PORT) bash scripts/kind/health.sh

logs: | $(K8S_TOOLS) ## Pods, the SparkApplication, and recent logs of the publisher, the Spark driver and LocalStack
	-$(KUBECTL_IN_CONTEXT) -n $(NAMESPACE) get pods,sparkapplications,pvc
	-$(KUBECTL_IN_CONTEXT) -n $(NAMESPACE) logs deploy/$(RELEASE)-publisher --tail=30
	-$(KUBECTL_IN_CONTEXT) -n $(NAMESPACE) logs $(RELEASE)-spark-job-driver -c checkpoint-guard --tail=20
	-$(KUBECTL_IN_CONTEXT) -n $(NAMESPACE) logs $(RELEASE)-spark-job-driver -c spark-kubernetes-driver --tail=100
	-$(KUBECTL_IN_CONTEXT) -n $(NAMESPACE) logs deploy/$(RELEASE)-localstack --tail=30

# A Prometheus server on the cluster (namespace monitoring, scripts/kind/prometheus/): scrapes the
# release by its pods' annotations, evaluates the release's alerts (its <release>-alert-rules ConfigMap).
.PHONY: prometheus prometheus-down
prometheus: engine-check prometheus-image | $(K8S_TOOLS) ## Run Prometheus on kind: scrape the release, evaluate its alerts (again after a deploy that changes them)
	@$(KIND_ENV) $(CLUSTER_ENV) bash scripts/kind/prometheus.sh up

prometheus-down: | $(K8S_TOOLS) ## Remove the Prometheus of `make prometheus`
	@$(CLUSTER_ENV) bash scripts/kind/prometheus.sh down

undeploy: | $(K8S_TOOLS) ## Reset: uninstall (waiting for every object), delete the release's PVCs (kept ones too) and wait for its pods to go
	$(CLUSTER_ENV) bash scripts/kind/undeploy.sh

kind-down: engine-check ## Delete the kind cluster (fails if a node container is left)
	KIND_CLUSTER=$(KIND_CLUSTER) bash $(KIND_CLUSTER_SH) down
