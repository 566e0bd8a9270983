"""The pure domain core of the SEUS console: standard library only, time passed in, no I/O."""
