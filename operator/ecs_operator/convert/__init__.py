"""`ecs-operator convert FILE|-`: ECS JSON to our custom resources or to plain Kubernetes YAML.

Input is what the AWS CLI takes or prints: ``register-task-definition`` input,
``describe-task-definition`` output (bare or in its ``{"taskDefinition": ...}`` wrapper; the
read-only members are stripped and listed on stderr), ``create-service`` input,
``describe-services`` output (each service as its create-service request, likewise),
``run-task`` input, ``create-cluster`` input or ``describe-clusters`` output — one object or a
JSON list of them — or a CloudFormation template or ``terraform show -json`` output, whose ECS
resources are read (``sources/``). A service or run-task is rendered with the task definition
given beside it. A key that is an ECS member in the wrong case (``ContainerDefinitions``) is
named with its ECS spelling.

- ``--to crd`` (default): TaskDefinition / Service / Task custom resources whose spec is the ECS
  JSON, for the operator to reconcile (a Task has a ``generateName``: stderr says to create it
  with ``kubectl create``).
- ``--to k8s``: the Kubernetes objects the operator would create, rendered here without it: a
  Deployment (REPLICA) or DaemonSet (DAEMON) per service, Pods per run-task (created with
  ``generateName``: use ``kubectl create``), and for a task definition no service or task uses a
  PodTemplate (a task definition runs nothing by itself); plus their ServiceAccounts.
  Findings (what did not map exactly) and the Secrets/ConfigMaps/PVCs the pods expect go to
  stderr.

Invalid input exits 1 with one message per problem, naming the field by its ECS path.

The package's modules, one job each: ``command`` (the arguments and ``run``), ``files`` (reading
the files and directories named), ``documents`` (recognising and validating each input object),
``resources`` (``--to crd``), ``kubernetes`` (``--to k8s``, through the operator's plans).
"""

from .command import configure, dump, inputs_of, options_of, run
from .documents import Document, read_document, read_documents
from .files import Unreadable, input_files
from .kubernetes import Conversion, plan_document, to_kubernetes
from .resources import missing_clusters, to_custom_resources

__all__ = [
    "Conversion",
    "Document",
    "Unreadable",
    "configure",
    "dump",
    "input_files",
    "inputs_of",
    "missing_clusters",
    "options_of",
    "plan_document",
    "read_document",
    "read_documents",
    "run",
    "to_custom_resources",
    "to_kubernetes",
]
