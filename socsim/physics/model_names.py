"""The names of the array models, for validating a config without importing the models.

:mod:`socsim.physics.registry` maps each name to its constructor and checks, when imported, that it has one
for every name here and none else; adding a model touches both.
"""

MODEL_NAMES: tuple[str, ...] = ("ideal", "pcm_hic", "rram_pulse", "rram_wv", "sram_cd")
"""Valid values of ``tiles.physics.model``, sorted."""
