"""What a config's hardware costs (the compiler's layer): area and leakage per component
(:mod:`socsim.pricing.area`), energy prices scaled with the CMOS node and the memory capacity
(:mod:`socsim.pricing.costs`)."""
