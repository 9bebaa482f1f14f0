"""``ecs-operator api``: an ECS-compatible endpoint (awsJson1.1, SigV4) over the custom resources.

The custom resources stay the one source of truth: every operation reads or writes Cluster,
TaskDefinition, Service and Task objects (and reads ControllerRevisions and pods) as the
ServiceAccount the caller's access key names, so Kubernetes RBAC decides what a key may do.
The ECS-shaped views are those of ``kubectl ecs`` (``plugin/views.py``, ``plugin/task_views.py``)
over the status the operator writes; this package adds the wire protocol, authentication and
the writes.

- ``errors``: ECS's error codes and HTTP statuses
- ``sigv4``: Signature Version 4, verified server-side
- ``credentials``: access keys from labelled Secrets
- ``wire``: timestamps, ARNs per request, pagination tokens
- ``caller``: one request's identity and its impersonating Kubernetes client
- ``clusters``, ``taskdefinitions``, ``services``, ``tasks``, ``deployments``, ``tags``,
  ``accounts``: the operations
- ``families``: a family's TaskDefinition and revisions as the calls read them
- ``recorded_deployments``: the deployment an UpdateService shows before the operator runs it
- ``idempotency``: client tokens, so a create sent twice happens once
- ``wording``: ECS's own codes and words for the refusals clients compare verbatim
- ``server``: the aiohttp application and the command line
"""
