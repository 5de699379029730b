"""The base every layer stands on (the lowest layer, beside ``isa``): the ledger's actions, exit statuses,
display units, the config machinery, file reads and writes, folder locks, process signals, the numeric environment,
command-line argument types and window geometry."""
