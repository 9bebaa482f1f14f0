#!/usr/bin/env bash
# The aws CLI's deploy and batch workflows, unchanged, against `ecs-operator api` (issue #16).
# Needs AWS_ENDPOINT_URL_ECS, a key (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), AWS_DEFAULT_REGION,
# and NAMESPACE: on the devcluster kwok plays the kubelet, so the batch task's pod is told to
# exit with code 3 (a simulation annotation) where a real container would just end.
set -euo pipefail
trace() { echo "+ $*" >&2; }
expect() {  # expect WHAT ACTUAL WANTED
  if [[ "$2" != "$3" ]]; then echo "FAIL $1: got [$2], wanted [$3]" >&2; exit 1; fi
  echo "ok $1: $2" >&2
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
arn="arn:aws:ecs:${AWS_DEFAULT_REGION}:123456789012"

# (a) deploy: register from --cli-input-json, create, wait, roll to a new revision, wait (a
# health check makes a task count once healthy, not 40 s after it starts as ECS counts without)
cat > "$work/web.json" <<'JSON'
{"family": "web", "networkMode": "bridge",
 "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "memory": 128,
                           "portMappings": [{"containerPort": 80}],
                           "healthCheck": {"command": ["CMD-SHELL", "true"], "retries": 1}}]}
JSON
first=$(aws ecs register-task-definition --cli-input-json "file://$work/web.json" \
  --query taskDefinition.taskDefinitionArn --output text)
expect "first revision" "$first" "$arn:task-definition/web:1"
aws ecs create-service --service-name web --task-definition web --desired-count 2 >/dev/null
trace "wait services-stable"
aws ecs wait services-stable --services web
sed -i 's/nginx:1.27/nginx:1.28/' "$work/web.json"
second=$(aws ecs register-task-definition --cli-input-json "file://$work/web.json" \
  --query taskDefinition.taskDefinitionArn --output text)
expect "second revision" "$second" "$arn:task-definition/web:2"
# the deploy Action always sends volumeConfigurations: []
# (the answer shows the new deployment IN_PROGRESS: the waiter, which polls before it sleeps,
# must not find the service steady on the old one; with a health check the rollout itself may
# be over before a second CLI call could look)
state=$(aws ecs update-service --service web --task-definition "$second" \
  --volume-configurations '[]' \
  --query 'service.deployments[0].[id,status,rolloutState]' --output text)
[[ "$state" == *"	PRIMARY	IN_PROGRESS" ]] || { echo "FAIL new deployment: got [$state]" >&2; exit 1; }
deployment=${state%%	*}
trace "wait services-stable"
aws ecs wait services-stable --services web
# --force-new-deployment: a new deployment of the same revision, its tasks replaced
# (the rolled deployment keeps its id through the waiter: here it is the one replaced; the JS
# SDK test reads it after the waiter as the deploy Action does)
forced=$(aws ecs update-service --service web --force-new-deployment \
  --query 'service.deployments[*].[id,status,rolloutState]' --output text | tr '\n' ' ')
[[ "$forced" == *"	PRIMARY	IN_PROGRESS $deployment	ACTIVE	"* ]] \
  || { echo "FAIL forced deployment: got [$forced]" >&2; exit 1; }
trace "wait services-stable"
aws ecs wait services-stable --services web
state=$(aws ecs describe-services --services web --output text \
  --query 'services[0].[taskDefinition,runningCount,length(deployments),status,deployments[0].id]')
expect "forced, the same revision" "$state" "$second	2	1	ACTIVE	${forced%%	*}"

# (b) batch: run a task, wait until it stops, read its exit code
aws ecs register-task-definition --family job \
  --container-definitions '[{"name":"main","image":"busybox","memory":64}]' >/dev/null
task=$(aws ecs run-task --task-definition job --query 'tasks[0].taskArn' --output text)
[[ "$task" =~ ^$arn:task/default/[0-9a-f]{32}$ ]] || { echo "FAIL task arn $task" >&2; exit 1; }
listed=$(aws ecs list-tasks --family job --query 'taskArns[0]' --output text)
expect "listed while running" "$listed" "$task"
until kubectl get pods -n "$NAMESPACE" -l ecs-operator.dev/task -o name | grep -q .; do sleep 0.5; done
kubectl annotate pods -n "$NAMESPACE" -l ecs-operator.dev/task \
  sim.ecs-operator.dev/exit-code=3 sim.ecs-operator.dev/run-ms=100 >/dev/null
trace "wait tasks-stopped"
aws ecs wait tasks-stopped --tasks "$task"
stopped=$(aws ecs describe-tasks --tasks "$task" \
  --query 'tasks[0].[lastStatus,stopCode,containers[0].exitCode]' --output text)
expect "exit code" "$stopped" "STOPPED	EssentialContainerExited	3"

# scale to 0, delete: DRAINING, then INACTIVE and still describable
aws ecs update-service --service web --desired-count 0 >/dev/null
status=$(aws ecs delete-service --service web --query service.status --output text)
expect "deleting" "$status" "DRAINING"
for _ in $(seq 60); do
  status=$(aws ecs describe-services --services web --query 'services[0].status' --output text)
  [[ "$status" == INACTIVE ]] && break
  sleep 0.5
done
expect "deleted" "$status" "INACTIVE"
expect "not listed" "$(aws ecs list-services --query 'length(serviceArns)')" "0"
