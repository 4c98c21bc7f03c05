"""`evsed demo` and the loopback CSMS it (and the tests and benchmarks) talk to."""
