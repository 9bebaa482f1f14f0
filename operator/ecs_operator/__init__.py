"""ecs-operator: Amazon ECS objects as Kubernetes custom resources."""

__version__ = "0.1.0"

API_GROUP = "ecs-operator.dev"
API_VERSION = "v1alpha1"
FIELD_MANAGER = "ecs-operator"
