"""The variants file of ``botmm ablate`` (config/variants.py) and the ablation windows."""

from __future__ import annotations

import pytest

from botmm_nautilus.apps.cli import main as cli_main
from botmm_nautilus.backtest.ablation import parse_window
from botmm_nautilus.backtest.ablation import parse_windows
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.loader import read_yaml
from botmm_nautilus.config.variants import apply_variant
from botmm_nautilus.config.variants import load_variants
from botmm_nautilus.errors import ConfigError

ADAPTIVE_KEYS = {
    "adaptive.use_regime", "adaptive.use_fill_rate", "adaptive.use_inventory_decay", "toxicity.enabled", "autotune.enabled",
    "sizing.enabled", "fill_model.enabled",
    "signals.use_bias", "signals.use_imbalance", "signals.use_microprice", "signals.use_flow",
}


@pytest.fixture(scope="module")
def btc(project_root):
    return load_config(project_root / "configs" / "btc.yaml")


def _write(tmp_path, text: str):
    p = tmp_path / "variants.yaml"
    p.write_text(text)
    return p


def test_variants_apply_on_top_of_the_asset_file(tmp_path, btc):
    p = _write(tmp_path, """
- name: base
- name: as-model
  set: {quoting.model: as, signals.use_imbalance: true, signals.imbalance_weight_bps: 2.5}
- name: nothing
  strategy: DoNothing
""")
    variants = load_variants(p, btc)
    assert [v.name for v in variants] == ["base", "as-model", "nothing"]
    changed = apply_variant(btc, variants[1], str(p))
    assert (changed.quoting.model, changed.signals.use_imbalance, changed.signals.imbalance_weight_bps) == ("as", True, 2.5)
    # everything else is the asset file's, not the schema default (btc.yaml sets gamma 0.05, order size 150)
    assert changed.quoting.gamma == btc.quoting.gamma == 0.05 and changed.quoting.order_size_usd == 150
    assert apply_variant(btc, variants[0], str(p)) == btc
    assert apply_variant(btc, variants[2], str(p)).strategy == "DoNothing"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- name: a\n  set: {quoting.gamma_typo: 1}\n", "variant 'a': quoting.gamma_typo: no such setting"),
        ("- name: a\n  set: {adaptiv.use_regime: true}\n", "variant 'a': adaptiv.use_regime: no such section 'adaptiv'"),
        ("- name: a\n  set: {quoting.gamma: -1}\n", "variant 'a': quoting.gamma: must be a number > 0"),
        ("- name: a\n  set: {quoting.model: avellaneda}\n", "variant 'a': quoting.model: 'avellaneda' is not one of"),
        ("- name: a\n  strategy: Nope\n", "variant 'a': strategy: 'Nope' is not one of"),
        ("- name: a\n  set: {signals: {use_imbalance: true}}\n", "variant 'a': signals: give each setting as a dotted key"),
        ("- name: a\n  sett: {quoting.gamma: 1}\n", "variant 1: unknown key 'sett'"),
        ("- name: a\n- name: a\n", "variant 2: name: 'a' is used by an earlier variant"),
        ("- set: {quoting.gamma: 1}\n", "variant 1: name: must be a non-empty text"),
        ("name: a\n", "must be a list of variants"),
        ("", "must be a list of variants"),
        ("- name: a\n  strategy: DoNothing\n  set: {strategy: MarketMaker}\n", "variant 'a': strategy is given twice"),
    ],
)
def test_a_bad_variant_names_the_file_the_variant_and_the_key(tmp_path, btc, text, expected):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_variants(p, btc)
    assert str(exc.value).startswith(f"{p}: ")
    assert expected in str(exc.value)


def test_shipped_basic_variants_are_valid_and_differ(project_root, btc):
    path = project_root / "configs" / "ablation_basic.yaml"
    variants = load_variants(path, btc)
    assert variants[0].name == "basic" and variants[0].strategy == "MarketMaker" and not variants[0].set
    configs = [apply_variant(btc, v, str(path)) for v in variants]
    assert len({repr(c) for c in configs}) == len(configs), "two variants give the same config"


def test_shipped_adaptive_variants_switch_each_feature_off_in_turn(project_root):
    """configs/ablation.yaml: basic, adaptive with every feature on, then each feature off alone
    (switches are booleans; the other keys, the signals' weights and the model file, are equal in
    every adaptive variant)."""
    variants = load_variants(project_root / "configs" / "ablation.yaml")
    assert variants[0].name == "basic" and variants[0].strategy == "MarketMaker"
    adaptive = variants[1]
    switches = {k: v for k, v in adaptive.set.items() if k in ADAPTIVE_KEYS}
    settings = {k: v for k, v in adaptive.set.items() if k not in ADAPTIVE_KEYS}
    assert adaptive.strategy == "AdaptiveMarketMaker" and switches == dict.fromkeys(ADAPTIVE_KEYS, True)
    assert all(not isinstance(v, bool) for v in settings.values())
    off = {}
    for v in variants[2:]:
        assert v.strategy == "AdaptiveMarketMaker" and set(v.set) == set(adaptive.set)
        assert {k: x for k, x in v.set.items() if k not in ADAPTIVE_KEYS} == settings
        switched = [k for k, on in v.set.items() if k in ADAPTIVE_KEYS and on is not True]
        assert len(switched) == 1 and v.set[switched[0]] is False, v
        off[switched[0]] = v.name
    assert set(off) == ADAPTIVE_KEYS, "every feature is switched off exactly once"
    assert len(read_yaml(project_root / "configs" / "ablation.yaml")) == 2 + len(ADAPTIVE_KEYS)


def test_windows_are_labelled_in_and_out_of_sample():
    w = parse_window("in=2025-09-04T19:46:00Z..2025-09-04T20:04:00Z")
    assert (w.name, w.sample_label, w.start, w.end) == ("in", "in-sample", "2025-09-04T19:46:00Z", "2025-09-04T20:04:00Z")
    assert w.end_ns - w.start_ns == 18 * 60 * 1_000_000_000
    assert parse_window("out-hl=2025-09-04T20:04:00.5Z..2025-09-04T20:21:00Z").sample_label == "out-of-sample"


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["train=2025-09-04..2025-09-05"], "the name must be 'in' or 'out'"),
        (["in=2025-09-04"], "use NAME=START..END"),
        (["in=2025-09-05..2025-09-04"], "--window in start 2025-09-05 is after --window in end 2025-09-04"),
        (["in=yesterday..2025-09-04"], "--window in start 'yesterday' is not a time"),
        (["in=..2025-09-04"], "give both a start and an end"),
        (["in=2025-09-04..2025-09-05", "in=2025-09-05..2025-09-06"], "window name 'in' is given twice"),
        ([], "give at least one window"),
    ],
)
def test_bad_windows_name_the_option(texts, expected):
    with pytest.raises(ConfigError, match="--window") as exc:
        parse_windows(texts)
    assert expected in str(exc.value)


def test_cli_refuses_a_bad_variants_key_before_any_run(tmp_path, project_root, capsys):
    p = _write(tmp_path, "- name: base\n- name: typo\n  set: {risk.max_position_usdd: 100}\n")
    (tmp_path / "cat" / "data").mkdir(parents=True)
    rc = cli_main(["ablate", "--config", str(project_root / "configs" / "btc.yaml"), "--catalog", str(tmp_path / "cat"),
                   "--variants", str(p), "--window", "in=2025-09-04T19:46:00Z..2025-09-04T20:04:00Z"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip() == f"error: {p}: variant 'typo': risk.max_position_usdd: no such setting"


def test_a_window_is_cut_to_the_data_range():
    w = parse_window("in=2025-09-04T19:00:00Z..2025-09-04T20:00:00Z")
    lo = w.start_ns + 30 * 60 * 1_000_000_000  # data from 19:30
    cut = w.clipped_to(lo, w.end_ns + 1)
    assert (cut.start, cut.end, cut.clipped, cut.sample_label) == ("2025-09-04T19:30:00Z", "2025-09-04T20:00:00Z", True, "in-sample")
    assert w.clipped_to(w.start_ns - 1, w.end_ns + 1) is w


def test_config_check_and_show_know_variants_files(project_root, tmp_path, capsys):
    basic = project_root / "configs" / "ablation_basic.yaml"
    assert cli_main(["config", "check", str(basic)]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {basic} (variants config)"
    assert cli_main(["config", "show", str(basic)]) == 0
    shown = capsys.readouterr().out
    p = _write(tmp_path, shown)
    assert load_variants(p) == load_variants(basic)  # show's output reads back as the same variants
    bad = _write(tmp_path, "- name: a\n  set: {quoting.levels: 0}\n")
    assert cli_main(["config", "check", str(bad)]) == 2
    assert f"error: {bad}: variant 'a': quoting.levels: must be" in capsys.readouterr().err
