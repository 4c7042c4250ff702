"""docs/CONFIG.md is generated from the schema and must stay in step with it."""

from __future__ import annotations

from pathlib import Path

from botmm_nautilus.config.docs import render_config_docs
from botmm_nautilus.core.params import QuotingParams
from botmm_nautilus.core.params import RiskParams
from botmm_nautilus.core.params import SignalsParams
from botmm_nautilus.core.params import field_specs

DOC = Path(__file__).resolve().parents[3] / "docs" / "CONFIG.md"


def test_committed_docs_match_the_schema():
    assert DOC.read_text() == render_config_docs(), (
        "docs/CONFIG.md is out of step with the schema: run `botmm config docs --out docs/CONFIG.md`"
    )


def test_every_setting_is_documented_with_unit_and_meaning():
    text = render_config_docs()
    for cls, section in ((QuotingParams, "quoting"), (SignalsParams, "signals"), (RiskParams, "risk")):
        for spec in field_specs(cls):
            assert spec.unit and spec.description, f"{section}.{spec.name} lacks a unit or a meaning"
            assert f"| `{section}.{spec.name}` |" in text
    assert len(field_specs(RiskParams)) == 31  # the 28 rules' fields of the risk manager + flatten_on_stop + the 2 flatten order limits
