"""``galflow plugins``: what is registered, where from, with versions."""

from __future__ import annotations

import json

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``plugins`` subcommand."""
    parser = subparsers.add_parser(
        "plugins",
        help="list registered plugins, sources, encoders, heads, backends",
        description="List the registered plugins (built-in and entry points) and the classes they register.",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return parser


def run(args) -> int:
    """Print the plugin and registry listing."""
    from astro_galflow.plugins import get_plugin_manager, list_plugins
    from astro_galflow.registry import build_registries

    pm = get_plugin_manager()
    plugins = list_plugins(pm)
    registries = build_registries(pm)
    if args.json:
        print(
            json.dumps(
                {
                    "plugins": [info.__dict__ | {"hooks": list(info.hooks)} for info in plugins],
                    **{
                        kind: [
                            {"name": e.name, "class": f"{e.cls.__module__}.{e.cls.__qualname__}", "plugin": e.plugin}
                            for e in registry.entries()
                        ]
                        for kind, registry in registries.as_dict().items()
                    },
                },
                indent=2,
            )
        )
        return 0
    print("Plugins")
    width = max(len(info.name) for info in plugins)
    for info in plugins:
        print(f"  {info.name:<{width}}  {info.origin:<11}  {info.distribution} {info.version}")
    for kind, registry in registries.as_dict().items():
        print(f"\n{kind.capitalize()}")
        for entry in registry.entries():
            print(f"  {entry.name:<16} {entry.cls.__module__}.{entry.cls.__qualname__}  (plugin {entry.plugin})")
    return 0
