"""Type checks for configuration dataclasses that users edit by hand: a JSON config whose ``"correct_spelling"`` is
``"no"`` or whose threshold is ``NaN`` is refused by name, instead of being taken as true or as a number that no
comparison rejects."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any


def check_field_types(instance: Any) -> None:
    """Checks every init field of a dataclass against its annotation: a ``bool`` is a JSON boolean (not a string
    or a number), an ``int`` a whole number, a ``float`` a finite number, a ``str`` a string, a tuple or list
    its elements; ``X | None`` also takes None. Other annotations are left to the class's own checks.

    Raises:
        TypeError: a field holds a value of another type (the field, the expected type and the value named).
        ValueError: a float field holds NaN or an infinity.
    """
    hints = typing.get_type_hints(type(instance))
    for field in dataclasses.fields(instance):
        if field.init:
            _check(field.name, getattr(instance, field.name), hints[field.name])


def _check(name: str, value: Any, annotation: Any) -> None:
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return
        options = [a for a in arguments if a is not type(None)]
        errors = []
        for option in options:
            try:
                _check(name, value, option)
                return
            except (TypeError, ValueError) as error:
                errors.append(error)
        raise errors[0] if len(errors) == 1 else TypeError(f"{name}: {value!r} is none of {_names(options)}")
    if annotation is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be true or false, got {value!r}")
    elif annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be a whole number, got {value!r}")
    elif annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    elif annotation is str:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {value!r}")
    elif origin in (tuple, list):
        if not isinstance(value, tuple | list):
            raise TypeError(f"{name} must be a list, got {value!r}")
        element = arguments[0] if arguments and (origin is list or arguments[-1] is Ellipsis) else None
        if element is not None:
            for index, item in enumerate(value):
                _check(f"{name}[{index}]", item, element)
    elif origin is dict and not isinstance(value, dict):
        raise TypeError(f"{name} must be a JSON object, got {value!r}")


def _names(options: list) -> str:
    return " or ".join(getattr(option, "__name__", str(option)) for option in options)
