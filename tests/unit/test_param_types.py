"""Submit refuses params whose values do not fit the executor's annotations (pure logic, no database).

This module's annotations are strings (``from __future__ import annotations``), as in many projects: every
executor below is checked through its resolved hints.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any, Literal, Optional, TypedDict, Union

import pytest

from goals.exceptions import GoalValidationError
from goals.executors import registry
from goals.executors.param_types import param_problems, resolve_param_types, type_name
from goals.executors.validation import validate_submission

if TYPE_CHECKING:
    from decimal import Decimal  # imported for type checkers only: at run time the name does not resolve


class Colour:
    """A class of the project's: submit cannot tell which JSON values it would take."""


class Options(TypedDict):
    depth: int


def problems(fn, params: dict[str, Any]) -> dict[str, str]:
    return param_problems(resolve_param_types(fn, inspect.signature(fn)), params)


def refusal(kind: str, params: dict[str, Any]) -> GoalValidationError:
    with pytest.raises(GoalValidationError) as refused:
        validate_submission(kind, params)
    return refused.value


@pytest.fixture
def register():
    """Register executors for one test, and forget them after it."""
    kinds = []

    def register(kind: str, fn) -> registry.ExecutorSpec:
        registry.executor(kind)(fn)
        kinds.append(kind)
        return registry.get_executor(kind)

    yield register
    for kind in kinds:
        del registry._registry[kind]


def scalars(ctx, *, name: str = "", pages: int = 1, ratio: float = 1.0, dry_run: bool = False):
    return None


def test_a_wrong_scalar_is_refused_naming_the_field_and_the_wanted_type():
    refused = refusal("tests.typed", {"name": 5})
    assert refused.message_dict == {"params.name": ["must be str, got int"]}
    assert [error.code for error in refused.error_dict["params.name"]] == ["bad_params"]


def test_a_bool_is_neither_an_int_nor_a_float_and_an_int_is_not_a_bool():
    assert problems(scalars, {"pages": True, "ratio": False, "dry_run": 1}) == {
        "pages": "must be int, got bool", "ratio": "must be float, got bool", "dry_run": "must be bool, got int"}


def test_an_int_is_a_float_as_in_json_but_a_float_is_not_an_int():
    assert problems(scalars, {"ratio": 2}) == {}
    assert problems(scalars, {"pages": 2.0}) == {"pages": "must be int, got float"}
    assert problems(scalars, {"name": "x", "pages": 3, "ratio": 0.5, "dry_run": True}) == {}


def test_a_list_item_of_the_wrong_type_is_named_by_its_index():
    def fn(ctx, *, pages: list[int], grid: list[list[int]] = (), anything: list = ()):
        return None

    assert problems(fn, {"pages": [1, 2, "3"], "grid": [[1], [2, None]], "anything": [1, "a", None]}) == {
        "pages": "must be list[int]: pages[2] is str", "grid": "must be list[list[int]]: grid[1][1] is None"}
    assert problems(fn, {"pages": {"0": 1}, "anything": "abc"}) == {
        "pages": "must be list[int], got dict", "anything": "must be list, got str"}
    assert problems(fn, {"pages": [], "grid": [[], [1]]}) == {}


def test_dict_values_are_checked_and_their_keys_named():
    def fn(ctx, *, limits: dict[str, int], nested: dict[str, list[float]] | None = None, raw: dict = None):  # noqa: RUF013
        return None

    assert problems(fn, {"limits": {"a": 1, "b": "2"}, "nested": {"x": [1, 2.5, "3"]}, "raw": []}) == {
        "limits": "must be dict[str, int]: limits['b'] is str",
        "nested": "must be dict[str, list[float]] | None: nested['x'][2] is str",
        "raw": "must be dict | None, got list",
    }
    assert problems(fn, {"limits": {}, "nested": None, "raw": {"any": ["thing"]}}) == {}


@pytest.mark.parametrize("hint", [int | None, Optional[int], Union[int, None], Union[None, int]])  # noqa: UP007, UP045
def test_every_spelling_of_optional_accepts_none_and_the_type(hint):
    assert param_problems({"pages": hint}, {"pages": None}) == {}
    assert param_problems({"pages": hint}, {"pages": 3}) == {}
    assert param_problems({"pages": hint}, {"pages": "3"}) == {"pages": "must be int | None, got str"}


def test_a_union_and_a_literal():
    def fn(ctx, *, key: int | str = 0, speed: Literal["fast", "slow"] = "fast", level: Literal[1, 2] | None = None):
        return None

    assert problems(fn, {"key": 1}) == problems(fn, {"key": "a"}) == {}
    assert problems(fn, {"key": [1], "speed": "medium", "level": True}) == {
        "key": "must be int | str, got list", "speed": "must be 'fast' | 'slow', got 'medium'",
        "level": "must be 1 | 2 | None, got True"}


def test_defaults_are_not_checked_nor_filled_in_and_a_none_default_accepts_none(register):
    def fn(ctx, *, pages: int = 1, limit: int = None):  # noqa: RUF013 (the old implicit Optional: still accepted)
        return None

    register("tests.param_defaults", fn)
    _, stored, _, _ = validate_submission("tests.param_defaults", {})
    assert stored == {}, "a default stays the executor's business"
    assert validate_submission("tests.param_defaults", {"limit": None})[1] == {"limit": None}
    assert refusal("tests.param_defaults", {"pages": None}).message_dict == {"params.pages": ["must be int, got None"]}


def test_every_bad_field_is_named_at_once():
    refused = refusal("tests.typed", {"name": 5, "size": "many"})
    assert refused.message_dict == {"params.name": ["must be str, got int"], "params.size": ["must be int, got str"]}


def test_names_are_checked_first_with_the_error_they_always_had():
    refused = refusal("tests.typed", {"size": "many"})  # "name" is missing, and "size" has the wrong type
    assert list(refused.message_dict) == ["params"]
    # Python 3.12 says "keyword-only argument" where 3.11 says "argument".
    assert re.search(r"missing a required (keyword-only )?argument: 'name'", refused.message_dict["params"][0])


def test_an_unannotated_executor_accepts_any_json(register):
    def fn(ctx, *, a, b=1, **rest):
        return None

    spec = register("tests.param_unannotated", fn)
    assert spec.param_types == {}
    params = {"a": [1, {"x": None}], "b": "not an int", "c": 2.5}
    assert validate_submission("tests.param_unannotated", params)[1] == params


def test_annotations_it_cannot_read_leave_only_their_param_unchecked():
    def fn(ctx, *, amount: Decimal, colour: Colour, options: Options, anything: Any, either: Colour | int,
           colours: list[Colour], mystery: Literal[Colour] | None = None, pages: int = 1):
        return None

    resolved = resolve_param_types(fn, inspect.signature(fn))
    assert "amount" not in resolved, "a name that does not resolve at run time"
    assert resolved["pages"] is int, "the others still resolve"
    assert problems(fn, {"amount": "1.50", "colour": [1], "options": "deep", "anything": {"a": 1}, "either": "x",
                         "colours": [1, "red"], "mystery": "x", "pages": "many"}) == {
        "pages": "must be int, got str"}
    assert problems(fn, {"colours": "red"}) == {"colours": "must be list[Colour], got str"}, (
        "the outer list is still a list whatever its items are")


def test_string_annotations_are_resolved_once_per_executor(register, monkeypatch):
    def fn(ctx, *, pages: list[int], label: Optional[str] = None):  # noqa: UP045
        return None

    assert inspect.signature(fn).parameters["pages"].annotation == "list[int]"
    calls = []

    def counting(*args):
        calls.append(args)
        return resolve_param_types(*args)

    monkeypatch.setattr(registry, "resolve_param_types", counting)
    spec = register("tests.param_strings", fn)
    assert calls == [], "not resolved at registration: a name defined further down the module still resolves"
    for _ in range(3):
        refused = refusal("tests.param_strings", {"pages": ["1"], "label": 2})
    assert refused.message_dict == {"params.pages": ["must be list[int]: pages[0] is str"],
                                    "params.label": ["must be str | None, got int"]}
    assert spec.param_types == {"pages": list[int], "label": Optional[str]}  # noqa: UP045
    assert len(calls) == 1


@pytest.mark.parametrize(("hint", "name"), [
    (int, "int"),
    (None, "None"),
    (Any, "Any"),
    (list, "list"),
    (dict[str, list[int]], "dict[str, list[int]]"),
    (Optional[list[int]], "list[int] | None"),  # noqa: UP045
    (Literal["a", 1], "'a' | 1"),
    (Colour, "Colour"),
])
def test_type_names_read_as_annotations_are_written(hint, name):
    assert type_name(hint) == name
