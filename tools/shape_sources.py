"""What ``gen_shapes.py`` makes the shapes from besides botocore's ECS model: which requests,
the wire types ECS is looser about, and the bounds and requirements ECS states only in prose
or enforces only in the service (each cited in section 7 of shared/reference/ecs-api.md)."""

from __future__ import annotations

from typing import Any

#: The ECS requests our custom resources mirror, one ``spec`` shape each.
ROOTS = (
    "RegisterTaskDefinitionRequest",
    "CreateServiceRequest",
    "RunTaskRequest",
    "CreateClusterRequest",
    "CreateCapacityProviderRequest",
)
#: The requests of the operations ``ecs-operator api`` serves (ecsapi/): each request is
#: validated against its shape, so a member a client sends is honoured or refused by name.
API_ROOTS = (
    "DescribeTaskDefinitionRequest",
    "DeregisterTaskDefinitionRequest",
    "DeleteTaskDefinitionsRequest",
    "ListTaskDefinitionsRequest",
    "ListTaskDefinitionFamiliesRequest",
    "DescribeClustersRequest",
    "ListClustersRequest",
    "DeleteClusterRequest",
    "UpdateClusterRequest",
    "PutClusterCapacityProvidersRequest",
    "ListServiceDeploymentsRequest",
    "DescribeServiceDeploymentsRequest",
    "DescribeServicesRequest",
    "ListServicesRequest",
    "UpdateServiceRequest",
    "DeleteServiceRequest",
    "DescribeTasksRequest",
    "ListTasksRequest",
    "StopTaskRequest",
    "TagResourceRequest",
    "UntagResourceRequest",
    "ListTagsForResourceRequest",
    "PutAccountSettingRequest",
    "PutAccountSettingDefaultRequest",
    "ListAccountSettingsRequest",
)

#: Members whose ECS wire type is looser than the model says (the console and CLI accept
#: ``"cpu": 256`` as well as ``"256"`` and ``"1 vCPU"``). Values are names in ``api/types.py``.
TYPE_OVERRIDES: dict[tuple[str, str], str] = {
    ("RegisterTaskDefinitionRequest", "cpu"): "TaskCpu",
    ("RegisterTaskDefinitionRequest", "memory"): "TaskMemory",
    ("TaskOverride", "cpu"): "TaskCpu",
    ("TaskOverride", "memory"): "TaskMemory",
}

#: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."
NAME_255 = {"max_length": 255, "pattern": r"^[a-zA-Z0-9_-]{1,255}$"}
#: A member that names a container or a volume, which ECS names by NAME_255.
NAMES_255 = {"max_length": 255}
#: A port mapping's name: "The name can include up to 64 characters" [model doc
#: PortMapping.name]; members naming one (portName) take the same bound.
PORT_NAME = {"max_length": 64}
#: Lists an API-server CEL rule walks need a bound, or the apiserver's cost estimator refuses
#: the rule. Where ECS documents no limit, these are the operator's own generous bounds.
OPERATOR_LIST_BOUND = 100

#: Constraints from the model's documentation text (the ECS API Reference) that the model has
#: no trait for; section 7 of shared/reference/ecs-api.md cites each. Keys are pydantic
#: ``Field`` arguments; ``items`` constrains the members of a list of strings.
DOC_CONSTRAINTS: dict[tuple[str, str], dict[str, Any]] = {
    ("RegisterTaskDefinitionRequest", "family"): NAME_255,
    ("ContainerDefinition", "name"): NAME_255,
    # 7.1: the service requires an image (SERVICE_REQUIRED); an empty one names none.
    ("ContainerDefinition", "image"): {"min_length": 1, "max_length": 255 + len("@sha256:") + 64},
    ("CreateServiceRequest", "serviceName"): NAME_255,
    # 7.1: volumes are named like containers; these members name a container or a volume.
    ("Volume", "name"): NAMES_255,
    ("MountPoint", "sourceVolume"): NAMES_255,
    ("VolumeFrom", "sourceContainer"): NAMES_255,
    ("ProxyConfiguration", "containerName"): NAMES_255,
    ("LoadBalancer", "containerName"): NAMES_255,
    ("ServiceRegistry", "containerName"): NAMES_255,
    ("ContainerOverride", "name"): NAMES_255,
    ("ServiceVolumeConfiguration", "name"): NAMES_255,
    ("TaskVolumeConfiguration", "name"): NAMES_255,
    # links: "Up to 255 letters ... are allowed for each name and alias" (name:alias).
    ("ContainerDefinition", "links"): {"max_length": 10, "items": {"max_length": 255 + 1 + 255}},
    ("PortMapping", "name"): PORT_NAME,
    ("ServiceConnectService", "portName"): PORT_NAME,
    ("VpcLatticeConfiguration", "portName"): PORT_NAME,
    ("GatewayConnector", "portName"): PORT_NAME,
    # "The name can contain up to 64 characters"; "The name can include up to 127 characters".
    ("ServiceConnectService", "discoveryName"): {"max_length": 64},
    ("ServiceConnectClientAlias", "dnsName"): {"max_length": 127},
    ("CreateClusterRequest", "clusterName"): NAME_255,
    # dependsOn names a container; capacity provider names are <= 255 (CreateCapacityProvider).
    ("ContainerDependency", "containerName"): {"max_length": 255},
    ("CapacityProviderStrategyItem", "capacityProvider"): {"max_length": 255},
    ("CreateClusterRequest", "capacityProviders"): {"max_length": 20, "items": {"max_length": 255}},
    # ECS quota "container definitions per task definition": 10.
    ("RegisterTaskDefinitionRequest", "containerDefinitions"): {"min_length": 1, "max_length": 10},
    ("RegisterTaskDefinitionRequest", "requiresCompatibilities"): {"max_length": 4},
    ("RegisterTaskDefinitionRequest", "placementConstraints"): {"max_length": 10},
    ("RegisterTaskDefinitionRequest", "volumes"): {"max_length": OPERATOR_LIST_BOUND},
    ("ContainerDefinition", "portMappings"): {"max_length": OPERATOR_LIST_BOUND},
    ("ContainerDefinition", "dependsOn"): {"max_length": 10},
    ("ContainerDefinition", "environmentFiles"): {"max_length": 10},
    ("ContainerDefinition", "credentialSpecs"): {"max_length": 1},
    # cpu units, 0 (no reservation) and up: no share or millicore is negative.
    ("ContainerDefinition", "cpu"): {"ge": 0},
    ("ContainerOverride", "cpu"): {"ge": 0},
    # "don't specify less than 6 MiB of memory for your containers" (Docker >= 20.10).
    ("ContainerDefinition", "memory"): {"ge": 6},
    ("ContainerDefinition", "memoryReservation"): {"ge": 6},
    ("PortMapping", "containerPort"): {"ge": 0, "le": 65535},
    ("PortMapping", "hostPort"): {"ge": 0, "le": 65535},
    ("HealthCheck", "command"): {"min_length": 1},
    ("HealthCheck", "interval"): {"ge": 5, "le": 300},
    ("HealthCheck", "timeout"): {"ge": 2, "le": 60},
    ("HealthCheck", "retries"): {"ge": 1, "le": 10},
    ("HealthCheck", "startPeriod"): {"ge": 0, "le": 300},
    ("ContainerRestartPolicy", "ignoredExitCodes"): {"max_length": 50},
    ("ContainerRestartPolicy", "restartAttemptPeriod"): {"ge": 60, "le": 1800},
    ("EphemeralStorage", "sizeInGiB"): {"ge": 21, "le": 200},
    ("PlacementConstraint", "expression"): {"max_length": 2000},
    ("TaskDefinitionPlacementConstraint", "expression"): {"max_length": 2000},
    ("CreateServiceRequest", "placementConstraints"): {"max_length": 10},
    ("CreateServiceRequest", "placementStrategy"): {"max_length": 5},
    ("CreateServiceRequest", "capacityProviderStrategy"): {"max_length": 20},
    ("CreateServiceRequest", "serviceRegistries"): {"max_length": 1},
    ("CreateServiceRequest", "clientToken"): {"max_length": 36},
    # CreateService: "desiredCount ... must be >= 0" (InvalidParameterException below zero).
    ("CreateServiceRequest", "desiredCount"): {"ge": 0},
    ("RunTaskRequest", "count"): {"ge": 1, "le": 10},
    ("RunTaskRequest", "placementConstraints"): {"max_length": 10},
    ("RunTaskRequest", "placementStrategy"): {"max_length": 5},
    ("RunTaskRequest", "capacityProviderStrategy"): {"max_length": 20},
    ("RunTaskRequest", "clientToken"): {"max_length": 64},
    # ECS documents letters, digits, "-", "/" and "_", but runs tasks started by
    # "AWS Step Functions" (its own integration) and fabfuel's "ECS Deploy": no pattern.
    ("RunTaskRequest", "startedBy"): {"max_length": 128},
    ("CreateClusterRequest", "defaultCapacityProviderStrategy"): {"max_length": 20},
    # ClusterSettingName has one value (containerInsights); leave room for more.
    ("CreateClusterRequest", "settings"): {"max_length": 10},
    ("AwsVpcConfiguration", "subnets"): {"max_length": 16},
    ("AwsVpcConfiguration", "securityGroups"): {"max_length": 5},
    # Not model traits; ecs-api.md 7.9 marks these bounds [memory].
    ("DeploymentConfiguration", "minimumHealthyPercent"): {"ge": 0, "le": 100},
    ("DeploymentConfiguration", "maximumPercent"): {"ge": 100},
}

#: Bounds for every member ECS gives none. A task definition is at most 64 KiB of JSON
#: (RegisterTaskDefinition; api/size.py enforces it), so no single string of it can be longer
#: than 65536 characters, no list hold more than 65536 / 3 items (the smallest item is three
#: bytes, ``"",`` or ``{},``) and no map more than 65536 / 6 entries (``"":"",``). The other
#: requests take the same bounds: a tenant's object stays bounded field by field, and the API
#: server's CEL cost estimates with it.
REQUEST_BYTES = 65536
STRING_MAX = REQUEST_BYTES
LIST_MAX = REQUEST_BYTES // 3
MAP_MAX = REQUEST_BYTES // 6
#: Members that hold an ARN (or a name or ID, which is shorter): the longest ARN IAM accepts
#: (IAM's ``arnType``, 20-2048 characters). Members named ``*Arn`` are found by name.
ARN_MAX = 2048
ARN_MEMBERS = {
    ("CreateServiceRequest", "cluster"),
    ("CreateServiceRequest", "role"),
    ("RunTaskRequest", "cluster"),
    ("RepositoryCredentials", "credentialsParameter"),
    ("FSxWindowsFileServerAuthorizationConfig", "credentialsParameter"),
    ("Secret", "valueFrom"),
    ("ServiceManagedEBSVolumeConfiguration", "kmsKeyId"),
    ("TaskManagedEBSVolumeConfiguration", "kmsKeyId"),
    ("ExecuteCommandConfiguration", "kmsKeyId"),
    ("ManagedStorageConfiguration", "kmsKeyId"),
    ("ManagedStorageConfiguration", "fargateEphemeralStorageKmsKeyId"),
    ("ServiceConnectTlsConfiguration", "kmsKey"),
    ("AdvancedConfiguration", "productionListenerRule"),
    ("AdvancedConfiguration", "testListenerRule"),
    ("VpcLatticeAdvancedConfiguration", "productionListenerRule"),
    ("VpcLatticeAdvancedConfiguration", "testListenerRule"),
    # "The namespace name or full Amazon Resource Name (ARN) of the Cloud Map namespace"
    ("ServiceConnectConfiguration", "namespace"),
    ("ClusterServiceConnectDefaultsRequest", "namespace"),
}

#: Members the ECS service requires although the model does not mark them required.
SERVICE_REQUIRED = {("ContainerDefinition", "name"), ("ContainerDefinition", "image")}

#: The range of the model's ``integer`` shapes (``long`` ones are 64-bit): ECS is a Java service
#: whose ``Integer`` members are 32-bit, so a larger value is refused when the request is read,
#: before any rule of ECS's runs (``container memory 10^12`` is no 1 EiB container). Bounds the
#: model or DOC_CONSTRAINTS give take precedence.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
