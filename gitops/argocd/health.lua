-- Argo CD health of an ecs-operator.dev object (Service, Task, TaskDefinition, Cluster,
-- ScheduledTask), read from the kstatus conditions the operator writes (docs/gitops.md). Argo CD
-- runs it without Lua's string library: only base, table and os functions.
local function condition(kind)
  for _, c in ipairs(obj.status.conditions or {}) do
    if c.type == kind then return c end
  end
  return {}
end

if obj.metadata.deletionTimestamp ~= nil then
  return {status = "Progressing", message = "being deleted"}
end
if obj.status == nil or obj.status.observedGeneration ~= obj.metadata.generation then
  return {status = "Progressing", message = "waiting for the operator to observe the spec"}
end
local stalled, degraded, ready = condition("Stalled"), condition("Degraded"), condition("Ready")
if stalled.status == "True" then
  return {status = "Degraded", message = stalled.message}
end
-- what the object names does not exist (yet): a TaskDefinition family or a Cluster
if degraded.status == "True" and (degraded.reason == "TaskDefinitionNotFound" or degraded.reason == "ClusterNotFound") then
  return {status = "Missing", message = degraded.message}
end
if ready.status == "True" then
  if obj.kind == "Service" and obj.spec.desiredCount == 0 then
    return {status = "Suspended", message = "desiredCount is 0"}
  end
  return {status = "Healthy", message = ready.message}
end
if degraded.status == "True" then
  return {status = "Progressing", message = degraded.message}
end
return {status = "Progressing", message = ready.message}
