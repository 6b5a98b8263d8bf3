"""Hooks schemathesis loads (SCHEMATHESIS_HOOKS) for the stateful phase: a draft's secret,
returned once by createTrialDraft, authorizes that draft's later steps. OpenAPI links carry
the draft id along (see the links in openapi/controlplane.yaml) but cannot build the
`Authorization: Bearer …` header, so these hooks remember each secret and add it."""
import schemathesis

DRAFT_CREATION = ("POST", "/api/trial/manual-approval/draft")
secrets = {}


@schemathesis.hook
def after_call(context, case, response):
    if (case.operation.method.upper(), case.operation.path) == DRAFT_CREATION and response.status_code == 201:
        body = response.json()
        secrets[body["draftId"]] = body["draftSecret"]


@schemathesis.hook
def before_call(context, case):
    draft = (case.path_parameters or {}).get("draftId")
    if draft in secrets:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secrets[draft]}"}
