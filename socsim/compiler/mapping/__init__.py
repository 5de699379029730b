"""A graph onto the crossbar tiles: where weight matrices are cut into blocks (``blocking``), the
mapping table with the work per image (``table``) and where each block sits on a tile (``placement``)."""
