#!/usr/bin/env bash
# Reruns every experiment behind the paper, then regenerates its figures and tables.
#   bash paper/rerun_experiments.sh small   # a few minutes on a laptop: paper/small/
#   bash paper/rerun_experiments.sh full    # the stored configuration: paper/ (days on 2 cores: the transfer
#                                           # benchmark's 320 units take 1-2 minutes each, the cold-start suite hours)
# Peers (BoTorch, Optuna's GPSampler) run when installed: pip install torch==2.13.0 && pip install -e ".[compare]";
# Syne Tune's schedulers with pip install -e ".[compare-transfer]".
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-small}"
python experiments/convergence.py "experiments/configs/$config.json" --fresh
if [ "$config" = full ]; then
  side=experiments/results
  python benchmarks/step_times.py --out "$side/step_times.json"
  python benchmarks/compare_peers.py --sizes 20,100,500 --dims 3,6 --repeats 3 --json "$side/peers.json"
else
  side="experiments/results/$config"
  mkdir -p "$side"
  python benchmarks/step_times.py --sizes 10,50,100 --per-parent 20,100 --steps 2 --out "$side/step_times.json"
  python benchmarks/compare_peers.py --sizes 20,100 --dims 3 --repeats 2 --json "$side/peers.json"
fi
if [ "$config" = full ]; then
  # Every transfer results file the paper reads: the first suites and their peers, the suites
  # that chose the default (with the cold-start control, the ablation and ICM / RGPE beside
  # them), the seeds held out from the choice, and the guard setting's worst cases per prior.
  for suite in transfer-synthetic transfer-synthetic-botorch transfer-synthetic-syne transfer-tuning \
      transfer-synthetic-hyperprior transfer-tuning-hyperprior transfer-synthetic-coldcontrol transfer-tuning-coldcontrol \
      transfer-synthetic-cold-priors transfer-tuning-cold-priors transfer-synthetic-icm-rgpe transfer-tuning-icm-rgpe \
      transfer-synthetic-heldout transfer-tuning-heldout transfer-synthetic-heldout-icm-rgpe transfer-tuning-heldout-icm-rgpe; do
    python experiments/transfer_bench.py "experiments/configs/$suite.json" --fresh
  done
  for prior in best-first stacked hyperprior icm rgpe; do
    rm -f "$side/guard-worst-$prior.jsonl"
    python benchmarks/guard_worst_case.py --prior "$prior" --seeds 0-29 --out "$side/guard-worst-$prior.jsonl"
  done
  rm -f "$side/guard-worst-reseeded.jsonl"
  python benchmarks/guard_worst_case.py --prior cold-reseeded --seeds 0-29 --out "$side/guard-worst-reseeded.jsonl"
  python experiments/coldstart.py experiments/configs/coldstart.json --fresh
  python experiments/continuation.py experiments/configs/continuation.json --fresh
  python experiments/image_classifier_warm_start.py experiments/configs/image_classifier.json --fresh
else
  python experiments/transfer_bench.py experiments/configs/transfer-synthetic-small.json --fresh
  python experiments/continuation.py experiments/configs/continuation-small.json --fresh
  python experiments/image_classifier_warm_start.py experiments/configs/image_classifier-small.json --fresh
fi
python paper/make_figures.py --config "$config"
