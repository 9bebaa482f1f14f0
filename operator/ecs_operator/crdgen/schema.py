"""A spec model as a structural OpenAPI v3 schema, the form a CRD needs: pydantic's JSON schema
with its $refs inlined, optional members unwrapped and one type per node, plus the server side
of the model's rules (CEL, list-map keys) attached where each rule applies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..api.rules import Cel, Rule, ServerCheck

Schema = dict[str, Any]

#: JSON-schema keys a structural schema has no use for: titles, pydantic's ``default: null``
#: (defaults would make the API server fill in fields), and the $defs we inline.
_DROPPED = {"title", "default", "$defs"}


def structural(node: Schema, defs: dict[str, Schema]) -> Schema:
    """The structural form of one pydantic JSON-schema node, with ``defs`` inlined."""
    node = _resolved(node, defs)
    if not set(node) - {"description"} - _DROPPED:
        # Arbitrary JSON (pydantic's JsonValue): keep it as it is.
        described = {k: v for k, v in node.items() if k == "description"}
        return {**described, "x-kubernetes-preserve-unknown-fields": True}
    if "type" not in node and not node.get("x-kubernetes-int-or-string"):
        raise ValueError(f"no structural form for schema {node}")
    out: Schema = {key: node[key] for key in ("description", "type") if key in node}
    for key, value in node.items():
        if key not in out and key not in _DROPPED:
            out.update(_converted(key, value, defs))
    return out


def _resolved(node: Schema, defs: dict[str, Schema]) -> Schema:
    """``node`` with its $ref inlined and an optional (``anyOf`` with null) unwrapped; the
    node's own keys, such as the field's description, win over the referenced ones."""
    while True:
        if "$ref" in node:
            rest = {k: v for k, v in node.items() if k != "$ref"}
            node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **rest}
        elif "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
            branches = [b for b in node["anyOf"] if b != {"type": "null"}]
            if len(branches) != 1:
                raise ValueError(f"a union has no structural form: {node}")
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            node = {**branches[0], **rest}
        else:
            return node


def _converted(key: str, value: Any, defs: dict[str, Schema]) -> Schema:
    """One key of a node in structural form (possibly none, or two keys)."""
    if key == "properties":
        return {key: {name: structural(prop, defs) for name, prop in value.items()}}
    if key == "items":
        return {key: structural(value, defs)}
    if key == "additionalProperties":
        # ``false`` (extra="forbid") is the structural default; a schema types map values.
        return {key: structural(value, defs)} if isinstance(value, dict) else {}
    if key == "anyOf":
        return {}  # int-or-string: x-kubernetes-int-or-string says it all
    if key == "const":
        return {"enum": [value]}
    if key == "propertyNames":
        return {"x-kubernetes-validations": [_key_length_rule(value["maxLength"])]}
    if key in ("exclusiveMinimum", "exclusiveMaximum"):
        # JSON Schema 2020's number -> OpenAPI 3.0's bound plus boolean.
        bound = "minimum" if key == "exclusiveMinimum" else "maximum"
        return {bound: value, key: True}
    return {key: value}


def _key_length_rule(limit: int) -> dict[str, str]:
    """The bound on a map's keys as CEL: a structural schema has no ``propertyNames``."""
    return {
        "rule": f"self.all(k, size(k) <= {limit})",
        "message": f"keys are at most {limit} characters",
    }


def _node_at(schema: Schema, at: str) -> Schema:
    """The node below ``schema`` at a rule path such as ``containerDefinitions[].healthCheck``."""
    node = schema
    for part in filter(None, at.split(".")):
        node = node["properties"][part.removesuffix("[]")]
        if part.endswith("[]"):
            node = node["items"]
    return node


def _attach(schema: Schema, check: ServerCheck) -> None:
    node = _node_at(schema, check.at)
    if isinstance(check, Cel):
        rule = {"rule": check.rule, "message": check.message}
        if check.field:
            rule["fieldPath"] = check.field
        if check.message_expression:
            rule["messageExpression"] = check.message_expression
        node.setdefault("x-kubernetes-validations", []).append(rule)
        return
    missing = set(check.keys) - set(node["items"].get("required", []))
    if missing:
        raise ValueError(f"list-map keys {sorted(missing)} of {check.at} are not required")
    node["x-kubernetes-list-type"] = "map"
    node["x-kubernetes-list-map-keys"] = list(check.keys)


def spec_schema(model: type[BaseModel], rules: tuple[Rule[Any], ...]) -> Schema:
    """The structural schema of a spec model, with the server side of its rules."""
    raw = model.model_json_schema(mode="validation")
    schema = structural(raw, raw.get("$defs", {}))
    for rule in rules:
        for check in rule.server:
            _attach(schema, check)
    return schema
