// The GitHub deploy Action's calls (aws-actions/amazon-ecs-deploy-task-definition, index.js),
// with @aws-sdk/client-ecs, against `ecs-operator api` (issue #16; docs/ecs-api.md).
// Needs AWS_ENDPOINT_URL_ECS, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, and the
// service SERVICE (cluster default) created beforehand. Exits non-zero on the first step the
// Action would fail on, naming it.
"use strict";
const {
  ECSClient,
  RegisterTaskDefinitionCommand,
  DescribeServicesCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
} = require("@aws-sdk/client-ecs");

function fail(step, detail) {
  console.error(`FAIL ${step}: ${JSON.stringify(detail)}`);
  process.exit(1);
}

async function main() {
  const ecs = new ECSClient({ region: process.env.AWS_REGION, maxAttempts: 1 });
  const service = process.env.SERVICE;
  const cluster = "default";

  // 1. register the rendered task definition
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: service,
      containerDefinitions: [
        {
          name: "app",
          image: "nginx:1.29",
          memory: 64,
          essential: true,
          // with a health check a task counts once healthy, not after ECS's 40 s without one
          healthCheck: { command: ["CMD-SHELL", "true"], interval: 5, retries: 1 },
        },
      ],
    }),
  );
  const taskDefArn = registered.taskDefinition.taskDefinitionArn;
  if (!/^arn:aws:ecs:[a-z0-9-]+:\d{12}:task-definition\/[^:]+:\d+$/.test(taskDefArn)) {
    fail("register", taskDefArn);
  }

  // 2. the service must exist, be ACTIVE and deployed by ECS
  const before = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  if (before.failures.length > 0) fail("describe: failures", before.failures);
  const found = before.services[0];
  if (found.status !== "ACTIVE") fail("describe: status", found.status);
  const controller = found.deploymentController?.type ?? "ECS";
  if (controller !== "ECS") fail("describe: deploymentController", controller);

  // 3. update the service; the Action always sends volumeConfigurations: []
  const updated = await ecs.send(
    new UpdateServiceCommand({
      cluster,
      service,
      taskDefinition: taskDefArn,
      forceNewDeployment: false,
      volumeConfigurations: [],
    }),
  );
  const primary = updated.service.deployments.find((d) => d.status === "PRIMARY");
  if (!primary || primary.taskDefinition !== taskDefArn) fail("update: PRIMARY", updated.service);
  const deploymentId = primary.id;

  // 4. the waiter: first poll before the first sleep, 1 s between polls here
  const waited = await waitUntilServicesStable(
    { client: ecs, maxWaitTime: 120, minDelay: 1, maxDelay: 1 },
    { cluster, services: [service] },
  );
  if (waited.state !== "SUCCESS") fail("waitUntilServicesStable", waited);

  // 5. the deployment the update started is still there and did not fail
  const after = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const deployment = after.services[0].deployments.find((d) => d.id === deploymentId);
  if (!deployment) fail("describe after: deployment gone", after.services[0].deployments);
  if (deployment.rolloutState === "FAILED") fail("describe after: FAILED", deployment);
  if (after.services[0].taskDefinition !== taskDefArn) fail("describe after: taskDefinition", after);
  console.log(`ok ${taskDefArn} ${deploymentId} ${deployment.rolloutState}`);
}

main().catch((error) => fail("call", { name: error.name, message: error.message }));
