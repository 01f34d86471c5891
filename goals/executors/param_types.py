"""Whether a goal's params fit the type annotations of its executor, checked when the goal is submitted.

Params reach the executor as keywords in a worker, possibly much later: ``{"pages": "many"}`` for
``pages: int`` would only fail there, as a TypeError in the middle of the work. Checked at submit, it is
refused while the caller is still there to read why.

Only the types a JSON value can have are understood: ``str``, ``int`` (not ``bool``), ``float`` (an
``int`` too, as JSON has one kind of number), ``bool``, ``None``, ``list`` and ``list[X]``, ``dict`` and
``dict[str, X]``, unions (``X | None``, ``Optional``, ``Union``), ``Literal`` of JSON scalars, and
``Any``. Any other annotation (a class of the project's, a TypedDict, a name that does not resolve at
run time) leaves its value unchecked, as every value was before: an annotation this module cannot read
must never refuse input the executor would take.
"""

from __future__ import annotations

import inspect
import logging
import reprlib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

logger = logging.getLogger(__name__)

# What evaluating an annotation can raise: a name only imported under TYPE_CHECKING, a typo, an
# expression typing refuses. Such a parameter is left unchecked rather than failing registration or submit.
_UNRESOLVABLE = (NameError, AttributeError, SyntaxError, TypeError)

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)

# The accepted Python types of the JSON value for each scalar annotation; bool is an int to Python, not to
# JSON, so it is refused for int and float below.
_SCALARS: dict[type, tuple[type, ...]] = {str: (str,), int: (int,), float: (int, float), bool: (bool,)}
_LITERAL_TYPES = (str, int, float, bool, type(None))


def resolve_param_types(fn: Callable[..., Any], signature: inspect.Signature) -> dict[str, Any]:
    """The resolved annotation of each of ``fn``'s params, by name: string annotations (``from __future__
    import annotations``) are evaluated in ``fn``'s module.

    The first parameter (the context), ``*args``/``**kwargs`` and unannotated params are left out, and
    so is a param whose annotation does not resolve. A param whose default is ``None`` also accepts
    ``None`` (``pages: int = None`` means "or nothing"). Costs an ``eval`` per param: call it once per
    executor, not per submit.
    """
    module_globals = getattr(inspect.unwrap(fn), "__globals__", {})
    resolved: dict[str, Any] = {}
    for param in list(signature.parameters.values())[1:]:
        if param.kind not in _KEYWORD_KINDS or param.annotation is param.empty:
            continue
        # One at a time, so that an annotation that does not resolve leaves only its own param unchecked
        # (``typing.get_type_hints(fn)`` gives up on all of them).
        probe = types.SimpleNamespace(__annotations__={param.name: param.annotation})
        try:
            hint = typing.get_type_hints(probe, globalns=module_globals)[param.name]
        except _UNRESOLVABLE as exc:
            logger.debug("%s: the annotation of %r is not checked (%s)", fn.__qualname__, param.name, exc)
            continue
        resolved[param.name] = _or_none(hint) if param.default is None else hint
    return resolved


def param_problems(param_types: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with each param whose JSON value does not fit its type, by name; empty if all fit.

    Params without a type in ``param_types`` are not checked; a problem reads like ``must be int, got
    str`` or ``must be list[int]: pages[2] is str``.
    """
    problems = {}
    for name, value in params.items():
        if name not in param_types:
            continue
        mismatch = _mismatch(value, param_types[name])
        if mismatch is not None:
            wanted = type_name(param_types[name])
            problems[name] = (f"must be {wanted}: {name}{mismatch.path} is {mismatch.got}" if mismatch.path
                              else f"must be {wanted}, got {mismatch.got}")
    return problems


def type_name(hint: Any) -> str:
    """``hint`` as a caller reads it: ``int``, ``list[int] | None``, ``'fast' | 'slow'``."""
    if hint is None or hint is type(None):
        return "None"
    if hint is Any:
        return "Any"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        # None last, as ``Optional[X]`` is written out, whatever order the union was given in.
        return " | ".join(type_name(arg) for arg in sorted(args, key=lambda arg: arg is type(None)))
    if origin is Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(type_name(arg) for arg in args)}]" if args else origin.__name__
    return getattr(hint, "__name__", repr(hint))


@dataclass(frozen=True)
class _Mismatch:
    path: str  # where in the value, as subscripts ("", "[2]", "['b'][0]")
    got: str  # what was found there


def _mismatch(value: Any, hint: Any) -> _Mismatch | None:
    """Where ``value`` does not fit ``hint``, or None when it fits or ``hint`` is not understood."""
    if hint is Any or hint is object:
        return None
    if hint is None or hint is type(None):
        return None if value is None else _Mismatch("", _json_type(value))
    if isinstance(hint, type) and hint in _SCALARS:
        fits = isinstance(value, _SCALARS[hint]) and (hint is bool or not isinstance(value, bool))
        return None if fits else _Mismatch("", _json_type(value))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        return _union_mismatch(value, args)
    if origin is Literal:
        if not all(isinstance(arg, _LITERAL_TYPES) for arg in args):
            return None  # an enum member, say: no JSON value is one, but the executor may map to it
        fits = any(type(value) is type(arg) and value == arg for arg in args)
        return None if fits else _Mismatch("", _literal_value(value))
    if hint is list or origin is list:
        if not isinstance(value, list):
            return _Mismatch("", _json_type(value))
        return _first_inner(enumerate(value), args[0] if args else Any)
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            return _Mismatch("", _json_type(value))
        # Keys are strings in JSON whatever the annotation says: only the values are checked.
        return _first_inner(value.items(), args[1] if len(args) == 2 else Any)
    return None


def _union_mismatch(value: Any, members: tuple[Any, ...]) -> _Mismatch | None:
    found = [_mismatch(value, member) for member in members]
    if None in found:
        return None
    # A value that got past one member's outer type (a list for list[int] | None) is told what is wrong
    # inside it; otherwise only that it is none of them.
    inner = next((mismatch for mismatch in found if mismatch is not None and mismatch.path), None)
    if inner is not None:
        return inner
    literal = any(typing.get_origin(member) is Literal for member in members)
    return _Mismatch("", _literal_value(value) if literal else _json_type(value))


def _first_inner(items: Iterable[tuple[Any, Any]], hint: Any) -> _Mismatch | None:
    for key, item in items:
        mismatch = _mismatch(item, hint)
        if mismatch is not None:
            return _Mismatch(f"[{key!r}]{mismatch.path}", mismatch.got)
    return None


def _or_none(hint: Any) -> Any:
    try:
        return hint | None
    except TypeError:
        return hint  # not a type typing accepts in a union: not checked anyway


def _json_type(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _literal_value(value: Any) -> str:
    return reprlib.repr(value) if isinstance(value, _LITERAL_TYPES) else _json_type(value)
