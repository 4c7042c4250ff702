"""Applications on top of every layer: the ``botmm`` command line, the live node runner, the recorder."""
