"""Typed settings (mkdocs-style options) and ``{{ env `NAME` }}`` references.

A provider declares its settings as ``options = {"key": Option(str, required=True, ...)}``;
config.py validates a location's ``pos.<name>`` block against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ENV_REF = re.compile(r"\{\{-?\s*env\s+(?:\"([^\"]+)\"|`([^`]+)`)\s*-?\}\}")


def env_refs(text: str) -> list[str]:
    """Return the env var names a value refers to: ``{{ env `A` }}`` -> ["A"]."""
    return [a or b for a, b in ENV_REF.findall(text)]


@dataclass(frozen=True)
class Option:
    """A typed setting: ``kind`` is one of str, int, bool, list, dict.

    Strings coming from env vars are coerced to int/bool where the option asks for them (Odoo
    ids). ``secret`` settings must come from the environment. ``env`` names a variable that
    supplies the default.
    """

    kind: type = str
    required: bool = False
    default: Any = None
    secret: bool = False
    choices: tuple = ()
    env: str | None = None

    def validate(self, value: Any, show: bool = True) -> Any:
        """Return ``value`` coerced to the option's type, or raise ValueError saying why.

        With ``show=False`` (a value read from the environment, maybe a secret) the message
        names the value's type but never the value.
        """
        value = _coerce(value, self.kind, show)
        if self.choices and value not in self.choices:
            got = f", got {value!r}" if show else ""
            raise ValueError(f"expected one of {', '.join(map(str, self.choices))}{got}")
        return value


def _coerce(value: Any, kind: type, show: bool = True) -> Any:
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if kind is int and isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if kind is bool and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"expected {_TYPE_NAMES[kind]} but received {describe(value, show)}")
    return value


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list",
               dict: "a mapping"}


def describe(value: Any, show: bool = True) -> str:
    """Name a value's type for a message, with the value itself unless ``show`` is False."""
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
             list: "a list", dict: "a mapping", type(None): "nothing (null)"}
    name = names.get(type(value), type(value).__name__)
    return f"{name} ({value!r})" if show and not isinstance(value, (list, dict)) else name
