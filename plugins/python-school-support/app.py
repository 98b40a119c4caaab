"""school-support, in Python: a Kinga eligibility plugin.

The twin of the example rule `kinga new eligibility` writes in Rust, to show
that the contract (`wit/`, kinga:plugin@0.2.2) is language-neutral: both
pass the same fixtures (`fixtures/`) through the same host.

One track, `school-support`: identified survivors aged `min_age` to
`max_age` (settings) are eligible; without any age, or with a survivor
status not assessed yet (case 1.1), the answer is `undetermined`, naming
the fields to collect. An age estimate ages from the day it was made. Its settings check refuses a
`min_age` above `max_age`. `build.sh` makes the component with
componentize-py.
"""

import datetime
import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import eligibility
from wit_world.exports import settings as settings_check
from wit_world.imports import types

RULE = "school-support"
DEFAULTS = {"min_age": 9, "max_age": 15}
SETTINGS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["min_age", "max_age"],
    "properties": {
        "min_age": {"type": "integer", "minimum": 0, "maximum": 25},
        "max_age": {"type": "integer", "minimum": 0, "maximum": 25},
    },
}


# Every reason the rule can give, with the message the host shows for it.
# Answers name codes only (contract 0.2); messages may quote settings.
REASONS = [
    ("not-a-survivor", "the child is not an identified survivor"),
    ("survivor-unknown", "whether the child is an identified survivor is not assessed yet"),
    ("age-unknown", "neither a date of birth nor an age estimate is recorded"),
    ("age-in-range", "the child's age is within {/min_age}-{/max_age}"),
    ("age-out-of-range", "the child's age is outside {/min_age}-{/max_age}"),
]


class Plugin(exports.Plugin):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            id="python-school-support",
            name="School support (Python)",
            version="0.1.0",
            kind=types.PluginKind.ELIGIBILITY,
            purpose="Decides which children can receive school support, so that caseworkers can offer it.",
            rules=[
                types.RuleInfo(
                    RULE,
                    "School support",
                    "Identified survivors aged min_age to max_age (settings).",
                    True,
                    [types.ReasonInfo(code, message) for code, message in REASONS],
                    [],
                    None,
                )
            ],
            settings_schema=json.dumps(SETTINGS_SCHEMA),
            default_settings=json.dumps(DEFAULTS),
            # Only what the rule reads: the host passes nothing else.
            case_fields=[
                "/child/date_of_birth",
                "/child/age_estimate_years",
                "/child/age_estimated_on",
                "/survivor_status",
            ],
            errors=[
                types.ErrorInfo(
                    "born-after-as-of",
                    types.ErrorKind.INVALID_CASE,
                    "the date of birth is after the as-of date",
                ),
                types.ErrorInfo(
                    "estimated-after-as-of",
                    types.ErrorKind.INVALID_CASE,
                    "the day an age estimate was made is after the as-of date",
                ),
            ],
        )


# Every refusal the settings check can give, with the message the host shows
# an administrator for it.
REFUSALS = [
    ("ages-inverted", "the youngest age {/min_age} is above the oldest age {/max_age}"),
]


class Settings(exports.Settings):
    def refusals(self):
        return [settings_check.RefusalInfo(code, message) for code, message in REFUSALS]

    def check(self, settings: str):
        # The host passes settings its schema accepts, defaults filled in.
        values = json.loads(settings)
        if values["min_age"] > values["max_age"]:
            return [settings_check.Refusal("ages-inverted", "/min_age")]
        return []


def completed_years(born: datetime.date, on: datetime.date) -> int:
    """Completed years at `on`; a 29 February birthday falls on 1 March in a common year."""
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


def decision(status, codes, missing=()):
    if isinstance(codes, str):
        codes = [codes]
    reasons = [types.Reason(RULE, code) for code in codes]
    return eligibility.Decision(RULE, status, None, reasons, list(missing))


def age_at(child, as_of):
    """Completed years at `as_of` from the date of birth, else the estimate
    aged from the day it was made (when recorded); None when neither."""
    if "date_of_birth" in child:
        born = datetime.date.fromisoformat(child["date_of_birth"])
        if born > as_of:
            raise Err(types.PluginError("born-after-as-of", "/child/date_of_birth"))
        return completed_years(born, as_of)
    if "age_estimate_years" in child:
        since = 0
        if "age_estimated_on" in child:
            made = datetime.date.fromisoformat(child["age_estimated_on"])
            if made > as_of:
                raise Err(types.PluginError("estimated-after-as-of", "/child/age_estimated_on"))
            since = completed_years(made, as_of)
        return child["age_estimate_years"] + since
    return None


class Eligibility(exports.Eligibility):
    def evaluate(self, ctx: types.Context, case: str):
        if RULE not in ctx.enabled_rules:
            return []
        settings = json.loads(ctx.settings)
        data = json.loads(case)
        # The as-of is an RFC 3339 date-time; ages are taken at its date.
        as_of = datetime.date.fromisoformat(ctx.as_of[:10])
        status = data.get("survivor_status")
        # A status not assessed yet (absent) cannot be decided: not a "no".
        if status is not None and status != "survivor":
            return [decision(eligibility.Status.INELIGIBLE, "not-a-survivor")]
        age = age_at(data.get("child", {}), as_of)
        if age is not None and not settings["min_age"] <= age <= settings["max_age"]:
            return [decision(eligibility.Status.INELIGIBLE, "age-out-of-range")]
        unknown, missing = [], []
        if status is None:
            unknown.append("survivor-unknown")
            missing.append("/survivor_status")
        if age is None:
            unknown.append("age-unknown")
            missing.append("/child/date_of_birth")
        if unknown:
            return [decision(eligibility.Status.UNDETERMINED, unknown, missing)]
        return [decision(eligibility.Status.ELIGIBLE, "age-in-range")]
