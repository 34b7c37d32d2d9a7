# mk/kind.mk - Kubernetes (kind) loop for article-pipeline. Included by the top-level Makefile.
#
#   make k8s-tools kind-up kind-load operator deploy health logs undeploy kind-down
#
# helm/kubectl come from scripts/fetch-k8s-tools.sh (.tools/bin); kind and docker from the host.

HELM ?= .tools/bin/helm
KUBECTL ?= .tools/bin/kubectl
KIND ?= kind
NAMESPACE ?= article-pipeline
RELEASE ?= article-pipeline

KIND_CLUSTER ?= article-pipeline
KIND_CONFIG ?= kind-config.yaml
KIND_NODE_IMAGE ?= kindest/node:v1.33.1
KUBE_CONTEXT ?= kind-$(KIND_CLUSTER)
K8S_IMAGES ?= article-pipeline/publisher:0.1.0 article-pipeline/spark-job:0.1.0

CHART_DIR ?= charts/article-pipeline
CHART_VALUES ?= $(CHART_DIR)/ci/default-values.yaml
DEPLOY_TIMEOUT ?= 10m

SPARK_OPERATOR_REPO ?= https://kubeflow.github.io/spark-operator
SPARK_OPERATOR_VERSION ?= 2.5.2
SPARK_OPERATOR_NAMESPACE ?= spark-operator

# Local port for `make health` (host port 8000 is taken by kind's NodePort mapping).
HEALTH_PORT ?= 18000

KCTL = $(KUBECTL) --context $(KUBE_CONTEXT)
HELM_K = $(HELM) --kube-context $(KUBE_CONTEXT)
# Fetch helm/kubectl on demand only when the defaults under .tools/bin are used.
K8S_TOOLS := $(filter .tools/bin/%,$(HELM) $(KUBECTL))

.PHONY: k8s-tools kind-up kind-load operator deploy health logs undeploy kind-down

k8s-tools: ## Fetch pinned helm and kubectl into .tools/bin
	bash scripts/fetch-k8s-tools.sh

$(K8S_TOOLS):
	bash scripts/fetch-k8s-tools.sh

kind-up: | $(K8S_TOOLS) ## Create the single-node kind cluster (idempotent)
	@if $(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then \
	  echo "kind cluster $(KIND_CLUSTER) already exists"; \
	else \
	  $(KIND) create cluster --name $(KIND_CLUSTER) --config $(KIND_CONFIG) --image $(KIND_NODE_IMAGE) --wait 120s; \
	fi
	$(KCTL) get nodes

kind-load: ## Load the publisher and spark-job images into kind
	$(KIND) load docker-image --name $(KIND_CLUSTER) $(K8S_IMAGES)

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

kind-down: ## Delete the kind cluster
	$(KIND) delete cluster --name $(KIND_CLUSTER)
