"""openapi/controlplane.yaml is valid OpenAPI 3.1 and documents exactly the routes served."""
import os
import subprocess

import yaml
from openapi_spec_validator import validate

from conftest import REPO

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def load(name):
    with open(os.path.join(REPO, "openapi", name)) as f:
        return yaml.safe_load(f)


def test_documents_are_valid_openapi_3_1():
    for name in sorted(os.listdir(os.path.join(REPO, "openapi"))):
        if name.endswith(".yaml"):
            spec = load(name)
            assert spec["openapi"].startswith("3.1"), name
            validate(spec)


def served_routes(env):
    out = subprocess.run([env["CONTROLPLANED"], "--routes"], capture_output=True, text=True, check=True).stdout
    routes = set()
    for line in out.splitlines():
        method, template, operation_id = line.split()
        # As nginx exposes it: the backend's /v1/trial/* is the public /api/trial/*.
        if template.startswith("/v1/trial/"):
            template = "/api/trial/" + template[len("/v1/trial/"):]
        routes.add((method, template, operation_id))
    return routes


def documented_routes(spec):
    routes = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                routes.add((method.upper(), path, operation["operationId"]))
    return routes


def test_every_served_route_is_documented_and_every_documented_route_served(env):
    served = served_routes(env)
    documented = documented_routes(load("controlplane.yaml"))
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_the_check_notices_a_mismatch(env):
    spec = load("controlplane.yaml")
    spec["paths"]["/internal/undocumented-extra"] = {"get": {"operationId": "extra", "responses": {"200": {"description": "x"}}}}
    assert documented_routes(spec) - served_routes(env) == {("GET", "/internal/undocumented-extra", "extra")}


def test_no_value_was_lost_to_yaml_flow_syntax():
    """An unquoted comma inside `{…}` silently splits a description into a null-valued key."""
    def nulls(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if v is None:
                    yield path + [k]
                yield from nulls(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from nulls(v, path + [i])
    for name in ("controlplane.yaml", "registry.yaml"):
        assert list(nulls(load(name), [name])) == []
