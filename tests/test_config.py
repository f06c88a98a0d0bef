"""add_g2da_config: the one place that declares the plugin's keys, documented key by key, and the
only default of every value a constructor reads from the config."""

import ast
import inspect
import os
import re

import pytest
from fastreid.config import CfgNode, get_cfg
from fastreid.modeling.meta_arch.build import META_ARCH_REGISTRY

from g2da_plugin.config import add_g2da_config, load_config
from g2da_plugin.modeling.heads.mfa import MessageFusionAttention
from g2da_plugin.modeling.losses import G2DA_LOSS_REGISTRY
from g2da_plugin.utils.errors import InputError
from tests.helpers import ROOT, tiny_model_cfg

CONFIG_SOURCE = os.path.join(ROOT, "g2da_plugin", "config.py")
KEY_TABLE = os.path.join(ROOT, "projects", "G2DA", "README.md")


def flat(node, prefix=""):
    """{dotted key: value} of every leaf of a config node."""
    out = {}
    for key, value in node.items():
        if isinstance(value, CfgNode):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@pytest.fixture(scope="module")
def plugin_keys(monkeypatch_module):
    monkeypatch_module.delenv("FASTREID_DATASETS", raising=False)
    fastreid = flat(get_cfg())
    return {k: v for k, v in flat(add_g2da_config(get_cfg())).items() if k not in fastreid}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def readme_key_table():
    """{key: (default cell, meaning)} of the README's table of the plugin's keys."""
    rows = {}
    for line in open(KEY_TABLE, encoding="utf-8"):
        match = re.match(r"^\| `([A-Z][A-Z0-9_.]+)` \| `([^`]*)` \| (.+) \|$", line.rstrip())
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def test_fastreid_defaults_are_kept():
    before = flat(get_cfg())
    after = flat(add_g2da_config(get_cfg()))
    assert {k: after[k] for k in before} == before


def test_readme_lists_every_key_with_its_default(plugin_keys):
    table = readme_key_table()
    assert sorted(table) == sorted(plugin_keys)
    for key, (default, meaning) in table.items():
        assert ast.literal_eval(default) == plugin_keys[key], key
        assert meaning.strip(), key


def test_every_key_has_a_comment_line_above_it():
    lines = open(CONFIG_SOURCE, encoding="utf-8").read().splitlines()
    declared = 0
    for number, line in enumerate(lines):
        if re.match(r"\s+cfg\.[A-Z0-9_.]+ = (?!CN\(\))", line):
            declared += 1
            assert lines[number - 1].strip().startswith("#"), f"config.py:{number + 1} has no comment: {line.strip()}"
    assert declared == len(readme_key_table())


def test_no_other_module_declares_keys():
    offenders = []
    for folder, _, files in os.walk(os.path.join(ROOT, "g2da_plugin")):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and path != CONFIG_SOURCE:
                text = open(path, encoding="utf-8").read()
                if re.search(r"\bCN\(|CfgNode\(|def add_\w+_config\b", text):
                    offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []


def constructor_defaults(cls, cfg):
    """The keyword arguments ``from_config`` passes that the ``__init__`` declaring them (the class's,
    or a base class's for what a subclass forwards in ``**kwargs``) also gives a default."""
    params = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass):
            params.update(inspect.signature(inspect.unwrap(vars(klass)["__init__"])).parameters)
    return sorted(k for k in cls.from_config(cfg) if params[k].default is not inspect.Parameter.empty)


@pytest.mark.parametrize("name", sorted(G2DA_LOSS_REGISTRY._obj_map))
def test_losses_hold_no_second_default(name):
    assert constructor_defaults(G2DA_LOSS_REGISTRY.get(name), add_g2da_config(get_cfg())) == []


def test_mfa_head_holds_no_second_default():
    cfg = tiny_model_cfg()
    assert constructor_defaults(MessageFusionAttention, cfg) == []


@pytest.mark.parametrize("arch", ["CrossModalityBaseline", "PosePartBaseline", "G2DA"])
def test_meta_architectures_hold_no_second_default(arch):
    cfg = tiny_model_cfg({"MODEL.META_ARCHITECTURE": arch})
    assert constructor_defaults(META_ARCH_REGISTRY.get(arch), cfg) == []


def test_datasets_root_precedence(monkeypatch, tmp_path):
    """Command line, then config file, then $FASTREID_DATASETS, then ./datasets."""
    sysu = os.path.join(ROOT, "projects", "G2DA", "configs", "sysu.yml")
    demo = os.path.join(ROOT, "projects", "G2DA", "configs", "demo.yml")
    monkeypatch.delenv("FASTREID_DATASETS", raising=False)
    assert load_config(sysu).DATASETS.ROOT == "datasets"
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path))
    assert load_config(sysu).DATASETS.ROOT == str(tmp_path)
    assert load_config(demo).DATASETS.ROOT == "datasets/synthetic"  # the config file's own
    assert load_config(demo, ["DATASETS.ROOT", "/elsewhere"]).DATASETS.ROOT == "/elsewhere"
    assert load_config(sysu, ["DATASETS.ROOT", "/elsewhere"]).DATASETS.ROOT == "/elsewhere"


def test_real_configs_leave_the_dataset_root_to_the_user():
    for folder in ("projects/G2DA/configs", "configs/SYSU-MM01", "configs/RegDB", "configs/LLCM"):
        for name in os.listdir(os.path.join(ROOT, folder)):
            if name.endswith(".yml") and not name.startswith("demo"):
                assert "ROOT:" not in open(os.path.join(ROOT, folder, name)).read(), f"{folder}/{name}"


def test_load_config_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("MODEL:\n  NOPE: 1\n")
    with pytest.raises(InputError, match=rf"config file {bad}: .*MODEL\.NOPE"):
        load_config(str(bad))
    with pytest.raises(InputError, match=r"command line.*Type mismatch.*SOLVER\.MAX_EPOCH"):
        load_config(None, ["SOLVER.MAX_EPOCH", "many"])
    with pytest.raises(InputError, match="Non-existent key: SOLVER.NOPE"):
        load_config(None, ["SOLVER.NOPE", "1"])
    with pytest.raises(InputError, match="not found"):
        load_config(str(tmp_path / "nowhere.yml"))
    broken = tmp_path / "broken.yml"
    broken.write_text("MODEL: [unclosed\n")
    with pytest.raises(InputError, match=f"config file {broken}"):
        load_config(str(broken))
