"""What the compiled programs need of the chip's memories: the memory plan and its capacity check
(``plan``), tensors staged through DRAM (``staging``), every shortfall at once when a graph does not fit
(``shortfalls``)."""
