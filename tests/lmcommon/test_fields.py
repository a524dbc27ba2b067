"""lmcommon.fields: hand-edited configs are checked against their fields' types."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmcommon.fields import check_field_types


@dataclass
class Settings:
    switch: bool = True
    count: int = 3
    rate: float = 0.5
    name: str = "x"
    limit: float | None = None
    names: tuple[str, ...] = ("a",)
    target: list[str] | str = field(default_factory=list)

    def __post_init__(self) -> None:
        check_field_types(self)


def test_values_of_the_right_types_pass():
    Settings(switch=False, count=0, rate=2, name="", limit=1.5, names=["b"], target="q_proj")


@pytest.mark.faults
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"switch": "no"}, "switch must be true or false, got 'no'"),
        ({"switch": 0}, "switch must be true or false"),
        ({"count": 2.5}, "count must be a whole number"),
        ({"count": True}, "count must be a whole number"),
        ({"rate": "x"}, "rate must be a number, got 'x'"),
        ({"rate": float("nan")}, "rate must be a finite number"),
        ({"limit": float("inf")}, "limit must be a finite number"),
        ({"name": 5}, "name must be a string"),
        ({"names": ["a", 3]}, r"names\[1\] must be a string"),
        ({"target": 7}, "target: 7 is none of"),
    ],
)
def test_a_value_of_another_type_is_refused_by_field(changes, message):
    with pytest.raises((TypeError, ValueError), match=message):
        Settings(**changes)


@pytest.mark.faults
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.lists(st.integers())))
def test_any_json_value_either_fits_a_float_field_or_is_refused_by_name(value):
    try:
        Settings(rate=value)
    except (TypeError, ValueError) as error:
        assert str(error).startswith("rate must be")
    else:
        assert isinstance(value, int | float) and not isinstance(value, bool) and value == value
