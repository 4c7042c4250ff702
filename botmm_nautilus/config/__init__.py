"""The configuration files: their schemas and their one YAML loader.

``loader``: YAML -> typed, frozen msgspec structs with errors naming file and dotted field;
``asset``: the per-asset YAML (``AssetConfig``); ``live``: configs/live.yaml (``LiveConfig``);
``schema``: the two kinds for ``botmm config show|check``; ``docs``: docs/CONFIG.md from the schema.
The sections the decision core reads (quoting, calibration, risk) are defined in core/params.py.
"""
