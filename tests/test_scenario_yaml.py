"""The scenario YAML loader's limits (`sanitation.scenario._yaml`)."""

from __future__ import annotations

import pytest
import yaml

from sanitation.scenario._yaml import MAX_DEPTH, load_yaml


def test_plain_yaml_reads_as_safe_load_does():
    text = "a: [1, 2.5, true, null, x]\nb: {c: 2026-11-27}\nd: &x [1]\ne: *x\n"
    assert load_yaml(text) == yaml.safe_load(text)


@pytest.mark.parametrize(("text", "value"), [("18:30", "18:30"), ("05:00", "05:00"),
                                             ("7:05", "7:05"), ("1:30:00", "1:30:00")])  # fmt: skip
def test_times_of_day_stay_text_not_base_60_numbers(text, value):
    assert load_yaml(f"close: {text}") == {"close": value}
    assert yaml.safe_load("close: 18:30") == {"close": 1110}  # what YAML 1.1 would make of it


def test_nesting_is_limited_with_the_line():
    text = "a:\n  b: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(yaml.YAMLError) as caught:
        load_yaml(text)
    assert caught.value.problem_mark.line + 1 == 2
    assert f"deeper than {MAX_DEPTH}" in str(caught.value)


def test_alias_expansion_is_limited():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    with pytest.raises(yaml.YAMLError, match="expand to more than"):
        load_yaml("\n".join(lines))


def test_an_alias_inside_its_own_anchor_is_refused():
    with pytest.raises(yaml.YAMLError, match="refers to the node that contains it"):
        load_yaml("a: &a [1, *a]")


def test_python_tags_are_refused():
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: !!python/object/apply:os.system ['true']")


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "2026-11-27 25:00:00"])
def test_an_impossible_date_is_refused_at_its_line(text):
    with pytest.raises(yaml.YAMLError, match="is not a date") as caught:
        load_yaml(f"name: x\ndate: {text}\n")
    assert caught.value.problem_mark.line + 1 == 2
