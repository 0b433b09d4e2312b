"""POS providers, registered under the entry-point group ``hugo_pos.providers``.

Built-in providers are registered exactly like third-party ones (see setup.py); the table below
is only a fallback for running from a source checkout that was never installed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from hugo_pos.errors import HugoPosError

if TYPE_CHECKING:
    from hugo_pos.providers.base import Provider

GROUP = "hugo_pos.providers"
_BUILTIN = {
    "local": "hugo_pos.providers.local:LocalProvider",
    "loyverse": "hugo_pos.providers.loyverse:LoyverseProvider",
    "odoo": "hugo_pos.providers.odoo:OdooProvider",
}


def installed_providers() -> dict[str, str]:
    """Return ``{name: "module:Class"}`` for every provider that can be loaded."""
    from importlib.metadata import entry_points

    found = {name: target for name, target in _BUILTIN.items() if _module_exists(target)}
    found.update({ep.name: ep.value for ep in entry_points(group=GROUP)})
    return dict(sorted(found.items()))


def provider_class(name: str) -> type[Provider]:
    """Return the Provider class registered as ``name``.

    An unknown name raises a HugoPosError that lists the installed providers.
    """
    # A built-in resolves without scanning every installed package's entry points (importing
    # importlib.metadata and scanning cost about 50 ms of each build's start-up).
    target = _BUILTIN.get(name)
    providers = {name: target} if target and _module_exists(target) else installed_providers()
    if name not in providers:
        raise HugoPosError(
            f"unknown POS provider {name!r}",
            f"installed providers: {', '.join(providers)}; a third-party provider registers "
            f"itself under the entry-point group {GROUP!r}")
    module, _, attr = providers[name].partition(":")
    try:
        return getattr(import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise HugoPosError(f"the POS provider {name!r} could not be loaded: {exc}",
                           "reinstall hugo-pos (and the package providing it)") from exc


def _module_exists(target: str) -> bool:
    from importlib.util import find_spec

    return find_spec(target.partition(":")[0]) is not None
