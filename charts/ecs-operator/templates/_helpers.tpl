{{/*
Names and labels shared by every template.
*/}}

{{- define "ecs-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name when it already contains the chart's. */}}
{{- define "ecs-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "ecs-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ecs-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ecs-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ecs-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ecs-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ecs-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ecs-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The container's args: the image's ENTRYPOINT is `ecs-operator`, so these are the subcommand and
its flags (operator/ecs_operator/runner.py). tests/unit/test_dockerfile.py checks that the
default render starts with the image's CMD.
*/}}
{{- define "ecs-operator.args" -}}
- run
{{- range .Values.watchNamespaces }}
- --namespace
- {{ . | quote }}
{{- else }}
- --all-namespaces
{{- end }}
- --metrics-port
- {{ .Values.metrics.port | quote }}
- --metrics-address
- {{ .Values.metrics.address | quote }}
- --health-port
- {{ .Values.health.port | quote }}
- --health-address
- {{ .Values.health.address | quote }}
{{- if .Values.taskMetadata.enabled }}
- --task-metadata-port
- {{ .Values.taskMetadata.port | quote }}
- --task-metadata-url
- {{ include "ecs-operator.taskMetadataUrl" . | quote }}
{{- end }}
- --log-format
- {{ .Values.logFormat | quote }}
- --log-level
- {{ .Values.logLevel | quote }}
{{- if .Values.peering.enabled }}
- --peering
- {{ .Values.peering.name | quote }}
{{- end }}
{{ include "ecs-operator.tenancyArgs" . }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The admin's tenancy policy as `ecs-operator run` flags: the cluster-wide part, which each
namespace's ecs-operator.dev/* annotations extend (task roles, service types) or replace (the
ceiling, disruption budgets). Always the ceiling, so the Deployment shows the level in force.
*/}}
{{- define "ecs-operator.tenancyArgs" -}}
- --pod-security-ceiling
- {{ .Values.tenancy.podSecurityCeiling | quote }}
{{- range .Values.tenancy.allowedTaskRoles }}
- --allow-task-role
- {{ . | quote }}
{{- end }}
{{- range .Values.tenancy.allowedServiceTypes }}
- --allow-service-type
- {{ . | quote }}
{{- end }}
{{- if not .Values.tenancy.disruptionBudgets }}
- --no-disruption-budgets
{{- end }}
{{- end }}

{{/*
RBAC, derived from what the code does (not from what would be convenient): every rule names
the code path that needs it. The operator writes through kube/client.py (list, create, delete,
server-side apply = PATCH, merge-patch) and kopf watches (list + watch). It never reads or
writes Secrets: pods that reference Secrets are created by the operator, the kubelet reads them.

"ecs-operator.namespacedRules": what the operator needs in each namespace it watches (a Role per
namespace, or part of the ClusterRole when it watches all of them).
*/}}
{{- define "ecs-operator.namespacedRules" -}}
# The ECS custom resources: kopf's on.event watches and the store's start-up LIST
# (handlers/watch.py).
- apiGroups: ["ecs-operator.dev"]
  resources: ["taskdefinitions", "services", "tasks", "clusters", "scheduledtasks"]
  verbs: ["get", "list", "watch"]
# The ecs-operator.dev/in-use finalizer on TaskDefinitions (handlers/common.set_finalizer).
- apiGroups: ["ecs-operator.dev"]
  resources: ["taskdefinitions"]
  verbs: ["patch"]
# A namespace's `default` Cluster, created on first use as ECS does (handlers/target_cluster.resolve).
- apiGroups: ["ecs-operator.dev"]
  resources: ["clusters"]
  verbs: ["create"]
# A ScheduledTask's firings: one Task each, created with a fixed name, stopped (patch:
# desiredStatus) when it has started nothing by the next firing, the oldest stopped ones
# deleted past the history limit (handlers/scheduledtask.py).
- apiGroups: ["ecs-operator.dev"]
  resources: ["tasks"]
  verbs: ["create", "patch", "delete"]
# ECS-shaped status, merge-patched through the status subresource (handlers/common.write_status).
- apiGroups: ["ecs-operator.dev"]
  resources:
    - taskdefinitions/status
    - services/status
    - tasks/status
    - clusters/status
    - scheduledtasks/status
  verbs: ["patch"]
# Children carry owner references with blockOwnerDeletion to their TaskDefinition, Service or
# Task, and Tasks to their ScheduledTask (kube/owners.py); clusters with the OwnerReferencesPermissionEnforcement admission
# plugin (OpenShift, hardened clusters) require `update` on the owner's finalizers for that.
- apiGroups: ["ecs-operator.dev"]
  resources:
    - taskdefinitions/finalizers
    - services/finalizers
    - tasks/finalizers
    - scheduledtasks/finalizers
  verbs: ["update"]
# Deployments (REPLICA) and DaemonSets (DAEMON): server-side applied (PATCH, and `create` for
# an apply that creates), deleted when a capacity provider leaves the strategy
# (handlers/service.py).
- apiGroups: ["apps"]
  resources: ["deployments", "daemonsets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# TaskDefinition revisions, immutable: created once, removed by the garbage collector
# (handlers/taskdefinition.py).
- apiGroups: ["apps"]
  resources: ["controllerrevisions"]
  verbs: ["get", "list", "watch", "create"]
# Standalone tasks' pods: created with fixed names, stopped (patch: activeDeadlineSeconds) when
# the task stops, deleted after the retention (handlers/task.py); service pods are watched for
# status.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Task-role ServiceAccounts, server-side applied, deleted when no workload uses them
# (handlers/identities.py). No serviceaccounts/token: the operator never mints tokens.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# What a service puts in the network (render/endpoints.py, scaling.py, availability.py):
# Services for load balancers and service discovery, an HPA for autoScaling, a PDB from
# minimumHealthyPercent; server-side applied, deleted when no longer rendered
# (handlers/service.py).
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Events in ECS words (kube/events.py) and kopf's own warnings (posted, never updated); the
# FailedCreate Events of a service's DaemonSet read (handlers/daemon_failures.py: why its pods
# cannot be created, which a DaemonSet tells nowhere else).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "list"]
{{- if and .Values.peering.enabled .Values.watchNamespaces }}
# kopf's namespaced peering: keep-alives patched into a KopfPeering in each namespace. Both API
# groups: kopf serves the legacy zalando.org one too when its CRD exists.
- apiGroups: ["kopf.dev", "zalando.org"]
  resources: ["kopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}

{{/* "ecs-operator.clusterRules": cluster-scoped reads, needed in both modes. */}}
{{- define "ecs-operator.clusterRules" -}}
# Nodes: the Cluster status counts container instances (handlers/cluster.py); kopf watches
# cluster-scoped resources cluster-wide even when the operator watches some namespaces.
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["get", "list", "watch"]
# kopf scans CRDs at start-up and watches them to notice resources appearing or going away.
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
# Namespaces: the admin's tenancy annotations (policy.py), watched and listed at start-up
# (handlers/watch.py); kopf also resolves the watched namespaces with them.
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- if and (not .Values.watchNamespaces) .Values.peering.enabled }}
# kopf's cluster-wide peering: keep-alives patched into the ClusterKopfPeering (both groups, as
# kopf serves the legacy zalando.org one too when its CRD exists).
- apiGroups: ["kopf.dev", "zalando.org"]
  resources: ["clusterkopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}

{{/* Refuse values that would give a broken operator, with the reason. */}}
{{- define "ecs-operator.validate" -}}
{{- if gt (int .Values.replicas) 1 }}
{{- fail "replicas: at most 1. Without peering two kopf operators would both act on every object; with peering, replicas of the same priority pause each other." }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (eq (int .Values.metrics.port) 0) }}
{{- fail "serviceMonitor.enabled needs metrics.port (it is 0: the metrics endpoint is off)" }}
{{- end }}
{{- if eq (int .Values.health.port) 0 }}
{{- fail "health.port: the liveness probe needs kopf's health endpoint; it cannot be 0 in the chart" }}
{{- end }}
{{- if include "ecs-operator.loopback" .Values.health.address }}
{{- fail (printf "health.address: the kubelet probes the pod's IP, so %s (a loopback address) would fail every probe" .Values.health.address) }}
{{- end }}
{{- if and .Values.taskMetadata.enabled (has (int .Values.taskMetadata.port) (list (int .Values.metrics.port) (int .Values.health.port))) }}
{{- fail (printf "taskMetadata.port: the operator serves its metrics or health endpoint on %v already" .Values.taskMetadata.port) }}
{{- end }}
{{- if and .Values.api.enabled .Values.metrics.port (eq (int .Values.metrics.port) (int .Values.api.port)) }}
{{- fail (printf "metrics.port: the ECS API listens on %v (api.port) already; its metrics need a port of their own" .Values.api.port) }}
{{- end }}
{{- if and (or .Values.metrics.service.enabled .Values.serviceMonitor.enabled) (include "ecs-operator.loopback" .Values.metrics.address) }}
{{- fail (printf "metrics.address: the metrics Service cannot reach %s (a loopback address); turn metrics.service and serviceMonitor off, or listen on the pod's addresses" .Values.metrics.address) }}
{{- end }}
{{- end }}

{{/* Non-empty when the address (a value) is a loopback one: reachable only from the pod. */}}
{{- define "ecs-operator.loopback" -}}
{{- if or (hasPrefix "127." .) (eq . "::1") (eq . "localhost") }}true{{ end }}
{{- end }}

{{/* `ecs-operator api` (api.yaml): its own name, so its pods match none of the operator's selectors. */}}
{{- define "ecs-operator.api.fullname" -}}
{{- printf "%s-api" (include "ecs-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ecs-operator.api.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-api" (include "ecs-operator.name" .) }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ecs-operator.api.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ecs-operator.api.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: api
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
A metrics Service and ServiceMonitor (metrics.yaml) for the pods of one Deployment: `root` the
chart's context, `name` the objects' name, `labels` and `selector` the names of the label
templates of that Deployment's objects and pods.
*/}}
{{- define "ecs-operator.metricsObjects" -}}
{{- $root := .root }}
{{- if or $root.Values.metrics.service.enabled $root.Values.serviceMonitor.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}-metrics
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include .labels $root | nindent 4 }}
  {{- with $root.Values.metrics.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include .selector $root | nindent 4 }}
  ports:
    - name: metrics
      port: {{ $root.Values.metrics.port }}
      targetPort: metrics
      protocol: TCP
{{- end }}
{{- if $root.Values.serviceMonitor.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include .labels $root | nindent 4 }}
    {{- with $root.Values.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include .selector $root | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ $root.Release.Namespace }}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ $root.Values.serviceMonitor.interval }}
      scrapeTimeout: {{ $root.Values.serviceMonitor.scrapeTimeout }}
{{- end }}
{{- end }}

{{/*
Where tasks reach the ECS task metadata endpoint: the Service in front of the operator, by its
DNS name in the release namespace.
*/}}
{{- define "ecs-operator.taskMetadataUrl" -}}
http://{{ include "ecs-operator.fullname" . }}-task-metadata.{{ .Release.Namespace }}.svc
{{- end }}
