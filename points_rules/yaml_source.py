"""Read a YAML file into plain values plus the line of every key and list element.

Decimals stay exact: a YAML float (``2.5``) becomes ``Decimal("2.5")`` from its source text, so no
float is ever created. Duplicate keys, which PyYAML silently overwrites, are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_FLOAT_TAG = "tag:yaml.org,2002:float"


@dataclass
class YamlSource:
    """A parsed file: ``data`` (dicts, lists, str, int, Decimal, bool, date, None) and ``lines`` by path."""

    file: str
    data: Any = None
    lines: dict[Path_, int] = field(default_factory=dict)
    errors: list[tuple[int | None, Path_, str, str]] = field(default_factory=list)  # line, path, zh, en

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def format_path(path: Path_) -> str:
    """``("items", 3, "points")`` → ``"items[3].points"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_yaml(path: Path, display_name: str | None = None) -> YamlSource:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        source = YamlSource(file=display_name or str(path))
        source.errors.append((None, (), f"无法读取文件：{exc}", f"cannot read file: {exc}"))
        return source
    return parse_yaml(text, display_name or str(path))


def parse_yaml(text: str, display_name: str) -> YamlSource:
    """The same reading as :func:`read_yaml`, of text already in hand (an upload through the API)."""
    source = YamlSource(file=display_name)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            source.errors.append((1, (), "文件为空", "the file is empty"))
            return source
        source.lines[()] = node.start_mark.line + 1
        source.data = _convert(loader, node, (), source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        source.errors.append((line, (), f"YAML语法错误：{exc.problem}", f"YAML syntax error: {exc.problem}"))
    except yaml.YAMLError as exc:
        source.errors.append((None, (), f"YAML错误：{exc}", f"YAML error: {exc}"))
    finally:
        loader.dispose()
    return source


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, source: YamlSource) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _convert(loader, key_node, path, source) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                source.errors.append((key_node.start_mark.line + 1, path, "键必须是文字", "keys must be plain text"))
                continue
            key_path = path + (key,)
            if key in out:
                source.errors.append((key_node.start_mark.line + 1, key_path, f"键“{key}”重复",
                                      f"duplicate key {key!r}"))
                continue
            source.lines[key_path] = key_node.start_mark.line + 1
            out[key] = _convert(loader, value_node, key_path, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, child in enumerate(node.value):
            source.lines[path + (index,)] = child.start_mark.line + 1
            items.append(_convert(loader, child, path + (index,), source))
        return items
    if node.tag == _FLOAT_TAG:
        try:
            value = Decimal(node.value.replace("_", ""))
        except InvalidOperation:
            return node.value  # .inf / .nan: left as text for the validator to reject
        return value if value.is_finite() else node.value
    return loader.construct_object(node, deep=True)
