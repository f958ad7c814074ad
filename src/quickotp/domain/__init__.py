"""The pure core: no I/O, no clock or randomness unless passed in."""
