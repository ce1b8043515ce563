"""The one YAML reader for everything a user hands in (scenario files, uploads, ``--set`` values).

Why not plain ``yaml.safe_load``: a 300-byte file of nested aliases expands to millions of
values the moment anything walks it (validation, ``repr`` in an error message, writing the
resolved scenario), a deeply nested one overflows the recursion limit, and duplicate keys
are silently resolved to the last one. So, before anything else touches the data:

1. the size is checked and the text decoded as UTF-8;
2. libyaml's C parser streams the *events* (no objects are built yet) and the document is
   refused on the first alias (``*name``), on a tag other than YAML's own (``!!python/...``),
   on nesting deeper than :data:`MAX_DEPTH`, on more than :data:`MAX_EVENTS` events or on a
   scalar longer than :data:`MAX_SCALAR_CHARS`;
3. only then is it built, by the C safe loader, with duplicate keys an error.

Every problem is a :class:`YamlError` with one line that names where it is and never quotes
more than a short prefix of the input.
"""
from __future__ import annotations

from typing import Any

import yaml

MAX_YAML_BYTES = 256 * 1024   # the largest bundled scenario is about 3 KB
MAX_DEPTH = 16                 # the deepest scenario value (review.shifts) is 4 levels down
MAX_EVENTS = 50_000
MAX_SCALAR_CHARS = 10_000
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")}


class YamlError(ValueError):
    """A document that is not acceptable YAML for a scenario; ``str(err)`` is one line."""


def _where(mark) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _marked(err: yaml.MarkedYAMLError) -> str:
    """'could not be read as YAML (line 3, column 1): <problem> (while <context> at line 2)'."""
    text = f"could not be read as YAML{_where(err.problem_mark)}: {str(err.problem or err.context)[:80]}"
    if err.context and err.problem and err.context_mark is not None:
        text += f" ({str(err.context)[:60]} at line {err.context_mark.line + 1})"
    return text


class _Loader(yaml.CSafeLoader):
    """libyaml's safe loader with duplicate keys refused."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the base class reports it
                    duplicate = False
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {str(key)[:40]!r} appears twice in one mapping", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _scan(text: str) -> None:
    """Refuse aliases, foreign tags, deep nesting and oversized documents from the event stream."""
    loader = yaml.CSafeLoader(text)
    try:
        depth = events = 0
        while loader.check_event():
            event = loader.get_event()
            events += 1
            if events > MAX_EVENTS:
                raise YamlError(f"too many values (more than {MAX_EVENTS:,}); a scenario has a few hundred")
            if isinstance(event, yaml.AliasEvent):
                raise YamlError(f"aliases (*{str(event.anchor)[:40]}) are not allowed in a scenario; write the "
                                f"values out{_where(event.start_mark)}")
            tag = getattr(event, "tag", None)
            if tag and tag != "!" and tag not in _PLAIN_TAGS:
                raise YamlError(f"the tag {tag[:40]!r} is not allowed (only plain YAML values){_where(event.start_mark)}")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlError(f"nested more than {MAX_DEPTH} levels deep{_where(event.start_mark)}")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
                raise YamlError(f"a value of {len(event.value):,} characters (at most {MAX_SCALAR_CHARS:,})"
                                f"{_where(event.start_mark)}")
    except yaml.MarkedYAMLError as err:
        raise YamlError(_marked(err)) from None
    except yaml.YAMLError as err:
        raise YamlError(f"could not be read as YAML: {str(err).splitlines()[0][:80]}") from None
    finally:
        loader.dispose()


def load_yaml(source: str | bytes, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Parse one YAML document under the limits above (None for an empty document)."""
    size = len(source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source)
    if size > max_bytes:
        raise YamlError(f"{size:,} bytes is too large for a scenario (at most {max_bytes:,})")
    if isinstance(source, (bytes, bytearray)):
        if b"\x00" in source:
            raise YamlError("this is not a text file (it holds binary data); a scenario is a YAML text file")
        try:
            source = bytes(source).decode("utf-8")
        except UnicodeDecodeError:
            raise YamlError("this is not a text file (not UTF-8); a scenario is a YAML text file") from None
    _scan(source)
    loader = _Loader(source)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        raise YamlError(_marked(err)) from None
    except yaml.YAMLError as err:
        raise YamlError(f"could not be read as YAML: {str(err).splitlines()[0][:80]}") from None
    except (ValueError, OverflowError) as err:  # e.g. an integer with more digits than Python converts
        raise YamlError(f"a value could not be read: {str(err)[:80]}") from None
    finally:
        loader.dispose()
