"""The package's layers point one way: tools -> engine -> modeling / evaluation -> data -> utils
(pose beside modeling; compat and config at the bottom)."""

import ast
import os

import pytest

from tests.helpers import ROOT

PACKAGE = os.path.join(ROOT, "g2da_plugin")

#: What each top-level part of g2da_plugin may import from the package (besides itself).
ALLOWED = {
    "utils": set(),
    "compat": set(),
    "config": {"utils"},
    "data": {"utils", "config"},
    "pose": {"data", "utils", "config"},
    "evaluation": {"data", "utils"},
    "modeling": {"pose", "data", "utils", "compat"},
    "engine": {"modeling", "evaluation", "pose", "data", "utils", "compat", "config"},
}


def part_of(module):
    """``g2da_plugin.data.build`` -> ``data``; the package itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imported_modules(path, module):
    """Absolute names of the g2da_plugin modules that ``path`` (module ``module``) imports."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    package = module.split(".") if os.path.basename(path) == "__init__.py" else module.split(".")[:-1]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names += [target] + [f"{target}.{alias.name}" for alias in node.names] if not node.module else [target]
    return [n for n in names if n == "g2da_plugin" or n.startswith("g2da_plugin.")]


def package_modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                yield path, relative[: -len(".__init__")] if relative.endswith(".__init__") else relative


@pytest.mark.parametrize("path, module", list(package_modules()), ids=lambda v: v if "." in str(v) else "")
def test_imports_point_one_way(path, module):
    own = part_of(module)
    if own is None:
        return  # g2da_plugin/__init__.py registers everything
    wrong = sorted({target for target in imported_modules(path, module)
                    if part_of(target) not in ALLOWED[own] | {own}})
    assert wrong == [], f"{module} ({own}) may import only {sorted(ALLOWED[own])}"


def test_layer_map_covers_the_package():
    parts = {part_of(module) for _, module in package_modules()} - {None}
    assert parts == set(ALLOWED)
