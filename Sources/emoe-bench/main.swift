print("emoe-bench: no benchmarks yet")
