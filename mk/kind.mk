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

CHART_DIR ?= charts/article-pipeline
CHART_VALUES ?= $(CHART_DIR)/ci/default-values.yaml
DEPLOY_TIMEOUT ?= 10m

SPARK_OPERATOR_REPO ?= https://kubeflow.github.io/spark-operator
SPARK_OPERATOR_VERSION ?= 2.5.2
SPARK_OPERATOR_NAMESPACE ?= spark-operator

# Local port for `make health` (kind maps the publisher NodePort to 127.0.0.1:18000).
HEALTH_PORT ?= 18001

KCTL = $(KUBECTL) --context $(KUBE_CONTEXT)
HELM_K = $(HELM) --kube-context $(KUBE_CONTEXT)
# Fetch helm/kubectl on demand only when the defaults under .tools/bin are used.
K8S_TOOLS := $(filter .tools/bin/%,$(HELM) $(KUBECTL))

.PHONY: k8s-tools kind-up kind-load operator deploy health logs undeploy kind-down

k8s-tools: ## Fetch pinned helm and kubectl into .tools/bin
	bash scripts/fetch-k8s-tools.sh

$(K8S_TOOLS):
	bash scripts/fetch-k8s-tools.sh

kind-up: | $(K8S_TOOLS) ## Create the single-node kind cluster and wait for the node Ready (idempotent)
	KIND_CLUSTER=$(KIND_CLUSTER) KIND_CONFIG=$(KIND_CONFIG) KUBECTL=$(KUBECTL) \
	  KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) bash $(KIND_CLUSTER_SH) up

kind-load: ## Load the publisher and spark-job images into kind (docker or podman)
	KIND_CLUSTER=$(KIND_CLUSTER) bash $(KIND_CLUSTER_SH) load $(K8S_IMAGES)

operator: | $(K8S_TOOLS) ## Install the Spark Operator (own release, webhook on, watching $(NAMESPACE))
	$(KCTL) create namespace $(NAMESPACE) --dry-run=client -o yaml | $(KCTL) apply -f -
	$(HELM) repo add spark-operator $(SPARK_OPERATOR_REPO) --force-update
	$(HELM_K) upgrade --install spark-operator spark-operator/spark-operator \
	  --version $(SPARK_OPERATOR_VERSION) \
	  --namespace $(SPARK_OPERATOR_NAMESPACE) --create-namespace \
	  --set webhook.enable=true \
	  --set 'spark.jobNamespaces={$(NAMESPACE)}' \
	  --set spark.serviceAccount.create=false \
	  --set spark.rbac.create=false \
	  --set controller.uiService.enable=false \
	  --wait --timeout 5m

deploy: | $(K8S_TOOLS) ## helm upgrade --install the umbrella chart (kind + LocalStack values)
	$(HELM_K) upgrade --install $(RELEASE) $(CHART_DIR) \
	  --namespace $(NAMESPACE) --create-namespace \
	  -f $(CHART_VALUES) \
	  --wait --timeout $(DEPLOY_TIMEOUT)

health: | $(K8S_TOOLS) ## Port-forward the publisher Service and GET /health
	@set -e; \
	$(KCTL) -n $(NAMESPACE) port-forward svc/$(RELEASE)-publisher $(HEALTH_PORT):8000 >/dev/null 2>&1 & pf=$$!; \
	trap 'kill $$pf 2>/dev/null || true' EXIT; \
	for i in $$(seq 1 30); do \
	  if curl -fsS --max-time 2 http://127.0.0.1:$(HEALTH_PORT)/health; then echo; exit 0; fi; \
	  kill -0 $$pf 2>/dev/null || { echo "port-forward exited" >&2; exit 1; }; \
	  sleep 1; \
	done; \
	echo "publisher /health did not answer 200" >&2; exit 1

logs: | $(K8S_TOOLS) ## Recent logs of the publisher, the Spark driver and LocalStack
	-$(KCTL) -n $(NAMESPACE) get pods,sparkapplications
	-$(KCTL) -n $(NAMESPACE) logs deploy/$(RELEASE)-publisher --tail=50
	-$(KCTL) -n $(NAMESPACE) logs -l app.kubernetes.io/instance=$(RELEASE),app.kubernetes.io/component=driver --tail=100
	-$(KCTL) -n $(NAMESPACE) logs deploy/$(RELEASE)-localstack --tail=30

undeploy: | $(K8S_TOOLS) ## Uninstall the release and delete its PVCs (reset checkpoints and LocalStack data)
	-$(HELM_K) uninstall $(RELEASE) --namespace $(NAMESPACE) --wait
	$(KCTL) -n $(NAMESPACE) delete pvc -l app.kubernetes.io/instance=$(RELEASE) --ignore-not-found --wait

kind-down: ## Delete the kind cluster (fails if a node container is left)
	KIND_CLUSTER=$(KIND_CLUSTER) bash $(KIND_CLUSTER_SH) down
