"""Layer types in a module each: the network input (``input``) and the layer types with trainable parameters,
``Linear`` and ``Conv2d`` (crossbar weight layers on :class:`~socsim.compiler.layers.crossbar.CrossbarLayer`) and
``BatchNorm`` (digital parameters). A layer with parameters owns its parameter buffers, its forward, backward and
update code, its calibration scratch and its parameters' import (``socsim.compiler.layer.ParamLayer``). These modules
import nothing of the lowering: the lowering's parts call them with the pass objects they implement."""
