"""The fast engine: a loop the program declares lane-parallel runs once, one lane per iteration.

1. :mod:`~socsim.sim.lanes.trace` runs the loop's control (registers, branches, address generator,
   tile blocks) for every lane at once and records each instruction with its per-lane operands;
2. :mod:`~socsim.sim.lanes.claims` checks the program's claim (private symbols written before they
   are read, reduced ones only accumulated, the rest only read) and traps with the pc otherwise;
3. :mod:`~socsim.sim.lanes.timing` feeds the iterations to the SimPy model in order and replays the
   timing once its state at an iteration boundary repeats (:mod:`~socsim.sim.lanes.replay`);
4. :mod:`~socsim.sim.lanes.numerics` runs each instruction's numerics over all lanes, with each
   lane's issue time and read numbers, then adds the reductions in iteration order.

The result is bit-identical to the reference engine (docs/architecture.md, "Two engines").
"""
