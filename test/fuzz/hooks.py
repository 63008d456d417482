"""Schemathesis hooks for hfi: the rules of the policy resource that OpenAPI cannot state.

Loaded through SCHEMATHESIS_HOOKS by test/fuzz/schemathesis.test.ts.
"""

import schemathesis
import yaml
from schemathesis.core.parameters import ParameterLocation

WRITES_OF_POLICIES = {"POST /v1/policies", "PUT /v1/policies/{name}", "POST /v1/experiments"}

# Messages of the rules JSON Schema cannot express, as the server words them. A schema-valid policy
# may be refused (400) for these and nothing else.
UNSTATABLE_RULES = (
    # regexes must compile to a DFA of at most 1024 states, in the RE2 subset, within the budget
    "is too complex",
    "is not a valid regular expression",
    "uses the backreference",
    "uses the lookaround",
    "uses the word boundary",
    "inside the pattern",
    "compiling regexes are spent",
    # fixedDelay: a sum of decimal components that must come to whole milliseconds in 1ms..1h
    "must be a whole number of milliseconds",
    "must be between 1ms and 1h",
    # duration: likewise whole seconds in 1s..168h
    "must be a whole number of seconds",
    "must be between 1s and 168h",
    # a label key's prefix: its own length, within the key's (propertyNames states the form and the whole)
    "its prefix before '/' must be at most",
    # an experiment's duration, baseline and stop-condition windows: whole seconds within bounds
    "must be 1s to",
    # an experiment's policies: distinct names (uniqueItems cannot look at one member of each)
    "duplicate name",
    # PUT's body names the policy in the URL: map_case sees to it, but a stateful step along an
    # inferred link can set the URL's name after it
    "must equal the name in the URL",
    # percentage: multipleOf 0.01 on a binary double (k * 0.01 is not always k hundredths)
    "must have at most 2 decimal places",
    # delay distributions: an order between two durations (uniform max not below min, p99 above p50)
    "must not be less than min",
    "must be more than p50",
)


class _StringQuotingDumper(yaml.SafeDumper):
    """PyYAML writes YAML 1.1, whose plain scalars mean other things in YAML 1.2 (hfi's): the
    string "0012" written plain is an integer there. Quoting every string means the same in both."""


_StringQuotingDumper.add_representer(
    str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
)


# Every YAML media type: Schemathesis picks the first serializer of the YAML family it knows.
@schemathesis.serializer(
    "text/yaml", "text/x-yaml", "text/vnd.yaml", "text/yml", "application/yaml", "application/x-yaml"
)
def yaml_with_quoted_strings(ctx, value):
    if isinstance(value, bytes):
        return value
    return yaml.dump(value, Dumper=_StringQuotingDumper, allow_unicode=True).encode()


def has_schema_valid_body(case):
    """Generated to fit the schema, body included (coverage cases may vary one part only)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return False
    body = case.meta.components.get(ParameterLocation.BODY)
    return body is None or body.mode.is_positive


@schemathesis.hook
def map_case(context, case):
    """PUT's body names the policy in the URL: OpenAPI cannot tie a body field to a path parameter."""
    if has_schema_valid_body(case) and case.operation.label == "PUT /v1/policies/{name}" and isinstance(case.body, dict):
        metadata = case.body.get("metadata")
        if isinstance(metadata, dict):
            metadata["name"] = case.path_parameters["name"]
    return case


@schemathesis.check
def policy_refusals_name_unstatable_rules(ctx, response, case):
    """A schema-valid policy refused with 400 is refused only for rules the schema cannot state."""
    if case.operation.label not in WRITES_OF_POLICIES or response.status_code != 400:
        return None
    if not has_schema_valid_body(case):
        return None
    details = response.json()["error"]["details"]
    stated = [detail for detail in details if not any(rule in detail["message"] for rule in UNSTATABLE_RULES)]
    if not details or stated:
        raise AssertionError(f"a schema-valid policy was refused for a rule the schema states: {stated or details}")
    return None
