"""The fill and adverse-selection model: dataset builder, training, model files (backtest/data/reports layer).

It reads catalogs (``dataset``), trains scikit-learn models (``train``) and writes the model file the
pure core evaluates (``core.fill_model.FillModel``). It may import core, venue and data, never twin.
"""
