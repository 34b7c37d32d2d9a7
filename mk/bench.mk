# Benchmarks (issue 6): throughput, source overhead, end-to-end latency, scaling, publisher, memory.
# Writes bench/results/*.json, bench/results/results.md and PNG plots. BENCH_ARGS passes options,
# e.g. make bench BENCH_ARGS="--runs 5 --records 20000" or BENCH_ARGS="--only latency".
BENCH_ARGS ?=
.PHONY: bench

bench: $(STAMP) ## benchmarks -> bench/results/ (results.md, JSON, PNG); BENCH_ARGS="--help" lists options
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python -m bench $(BENCH_ARGS)
