"""The guarded YAML reader: limits first, then the C safe loader; every refusal one short line."""
import time
import tracemalloc

import pytest

from simulator.common.safe_yaml import MAX_DEPTH, MAX_YAML_BYTES, YamlError, load_yaml
from simulator.scenario.config import ScenarioError, parse_override
from tests.hostile.inputs import alias_bomb


def refused(text) -> str:
    with pytest.raises(YamlError) as err:
        load_yaml(text)
    message = str(err.value)
    assert "\n" not in message and len(message) < 250
    return message


def test_alias_bomb_is_refused_at_once_without_expanding():
    """9**9 (387 million) values in 400 bytes: refused in milliseconds and a few KB of memory."""
    bomb = alias_bomb(9)
    assert len(bomb) < 500
    tracemalloc.start()
    t0 = time.perf_counter()
    message = refused(bomb)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "aliases" in message and "line 2" in message
    assert elapsed < 0.5 and peak < 1_000_000


def test_a_single_harmless_alias_is_refused_too():
    assert "aliases" in refused("a: &x 1\nb: *x\n")


@pytest.mark.parametrize("text", ["a: " + "[" * 100_000 + "]" * 100_000,
                                  "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 2)) + "  " * 20 + "v"])
def test_deep_nesting_is_refused_before_any_recursion(text):
    assert "nest" in refused(text)


def test_nesting_up_to_the_limit_is_read():
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH - 1)) + "  " * (MAX_DEPTH - 1) + "v\n"
    assert load_yaml(text)["k0"]["k1"]


@pytest.mark.parametrize("text", ["a: !!python/object/apply:os.system ['true']", "a: !!python/name:os.system",
                                  "a: !!binary aGVsbG8=", "a: !custom 1", "a: !!set {x, y}",
                                  "a: !!python/tuple [1, 2]"])
def test_only_plain_tags_are_read(text):
    assert "tag" in refused(text)


@pytest.mark.parametrize("text, where", [("a: 1\na: 2\n", "line 2"), ("x:\n  y: 1\n  z: 2\n  y: 3\n", "line 4"),
                                         ("- {a: 1, a: 2}\n", "line 1")])
def test_duplicate_keys_are_an_error_with_their_line(text, where):
    message = refused(text)
    assert "twice" in message and where in message


def test_size_limit_applies_before_parsing():
    assert "too large" in refused("a: '" + "x" * MAX_YAML_BYTES + "'")


def test_long_values_and_long_integers():
    assert "characters" in refused("a: " + "9" * 20_000)
    assert "could not be read" in refused("a: " + "9" * 5_000)  # beyond Python's int conversion limit


@pytest.mark.parametrize("raw", [b"\x00\x01\x02", b"a: caf\xe9\n", bytes(range(256))])
def test_binary_and_non_utf8_are_not_text(raw):
    assert "not a text file" in refused(raw)


def test_plain_documents_are_read_as_before():
    assert load_yaml("a: 1\nb: [1, 2.5, x]\nc: {d: yes, e: null}\nf: '3'\n") == {
        "a": 1, "b": [1, 2.5, "x"], "c": {"d": True, "e": None}, "f": "3"}
    assert load_yaml("") is None
    assert load_yaml("b:\n  <<: {x: 1}\n  y: 2\n") == {"b": {"x": 1, "y": 2}}


@pytest.mark.parametrize("text", ["inference.replicas=*a", "traffic.spikes=[&a {}, *a]",
                                  "name=!!python/object/apply:os.system ['true']"])
def test_set_values_use_the_same_reader(text):
    with pytest.raises(ScenarioError) as err:
        parse_override(text)
    assert err.value.lines[0].startswith(text.split("=")[0] + ":")
