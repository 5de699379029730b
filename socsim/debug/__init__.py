"""Looking into a run (the layer above the simulator): a unit timeline as Chrome trace events
(:mod:`socsim.debug.tracefile`), the stepper of ``socsim debug`` (:mod:`socsim.debug.stepper`)."""
