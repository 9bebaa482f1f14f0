-- The resource actions Argo CD offers for an ecs-operator.dev Service.
return {restart = {}}
