-- Argo CD's "restart" of an ecs-operator.dev Service: ECS's update-service
-- --force-new-deployment. The operator starts a new deployment of the same task definition
-- when this annotation changes (docs/gitops.md).
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["ecs-operator.dev/force-new-deployment"] = os.date("!%Y-%m-%dT%XZ")
return obj
